/**
 * The popup: marks the current tab on request, then shows the counts per technique, the
 * filters, "clear marks" and the permanent link. The background worker does the work and
 * keeps the state; the popup only shows it, so it may close and open again at any time.
 * Opened as a page with ``?tab=ID`` it serves that tab (for keyboard users and tests).
 */

import { loadSettings } from "./lib/settings.js";
import { stateKey } from "./lib/state.js";
import { countsByTechnique, noFilters, percent } from "./lib/techniques.js";

const api = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);

async function targetTab() {
  const given = Number(new URLSearchParams(location.search).get("tab"));
  if (Number.isInteger(given) && given > 0) return given;
  const [tab] = await api.tabs.query({ active: true, currentWindow: true });
  return tab?.id;
}

function ask(message) {
  return api.runtime.sendMessage(message);
}

/** @param {any} state the tab's state, or null before anything was done */
function render(state, tabId) {
  const status = state?.status ?? "new";
  const marked = status === "marked";
  const text = {
    new: "Send this page's article to your propscan service and mark the propaganda it finds.",
    working: "Analysing the article…",
    marked: marked && summary(state),
    cleared: "Marks cleared; the page is as it was.",
    error: "Nothing was marked.",
  }[status];
  $("status").textContent = text;
  $("error").hidden = status !== "error";
  $("error").textContent = status === "error" ? state.message : "";
  $("mark").disabled = status === "working";
  $("mark").textContent = { marked: "Mark again", error: "Try again" }[status] ?? "Mark propaganda on this page";
  $("clear").hidden = !marked;
  $("result").hidden = !marked;
  if (marked) renderResult(state, tabId);
}

function summary(state) {
  const techniques = new Set(state.spans.map((span) => span.technique)).size;
  const fragments = state.spans.length;
  if (fragments === 0) return "propscan found no propaganda techniques in this article.";
  return `${fragments} ${fragments === 1 ? "fragment" : "fragments"} marked, ` +
    `${techniques} ${techniques === 1 ? "technique" : "techniques"}.`;
}

function renderResult(state, tabId) {
  const filters = state.filters ?? noFilters();
  $("min-score").value = String(filters.minScore);
  $("min-score-value").textContent = percent(filters.minScore);
  $("shown-count").textContent = `${state.shown} of ${state.spans.length} fragments shown`;
  $("link").href = state.link;
  const list = $("techniques");
  const rows = countsByTechnique(state.spans, state.techniques, filters.minScore);
  const labels = rows.map((row) => row.technique.label).join("\n");
  if (list.dataset.labels !== labels) {
    list.dataset.labels = labels;
    list.replaceChildren(...rows.map((row) => techniqueRow(row.technique, tabId)));
  }
  for (const row of rows) {
    const item = list.querySelector(`li[data-label="${CSS.escape(row.technique.label)}"]`);
    item.querySelector("input").checked = !filters.hidden.includes(row.technique.label);
    item.querySelector(".count").textContent = String(row.count);
  }
}

function techniqueRow(technique, tabId) {
  const item = document.createElement("li");
  item.dataset.label = technique.label;
  item.title = technique.definition;
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.addEventListener("change", () => sendFilters(tabId));
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = technique.colour;
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = technique.name;
  const count = document.createElement("span");
  count.className = "count";
  label.append(box, swatch, name, count);
  item.append(label);
  return item;
}

function sendFilters(tabId) {
  const hidden = [...$("techniques").querySelectorAll("li")]
    .filter((item) => !item.querySelector("input").checked)
    .map((item) => item.dataset.label);
  const minScore = Number($("min-score").value);
  $("min-score-value").textContent = percent(minScore);
  ask({ kind: "filter", tabId, filters: { hidden, minScore } });
}

async function main() {
  const tabId = await targetTab();
  const settings = await loadSettings(api.storage.local);
  $("privacy").textContent = `The article's text goes to ${settings.serviceUrl} and nowhere else.`;
  $("options").addEventListener("click", (event) => {
    event.preventDefault();
    api.runtime.openOptionsPage();
  });
  if (tabId === undefined) {
    render({ status: "error", message: "There is no tab to mark." }, tabId);
    $("mark").disabled = true;
    return;
  }
  const key = stateKey(tabId);
  const show = async () => render((await api.storage.session.get(key))[key] ?? null, tabId);
  api.storage.session.onChanged.addListener((changes) => {
    if (key in changes) show();
  });
  $("mark").addEventListener("click", () => {
    render({ status: "working" }, tabId); // at once; the worker's state follows
    ask({ kind: "analyse", tabId });
  });
  $("clear").addEventListener("click", () => ask({ kind: "clear", tabId }));
  $("min-score").addEventListener("input", () => sendFilters(tabId));
  await show();
}

main();
