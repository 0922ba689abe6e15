/**
 * The background worker: the only part of the extension that talks to the propscan service,
 * so the token stays out of every page. The popup asks it to mark, filter or clear a tab;
 * it keeps each tab's state in session storage (gone when the browser closes), where the
 * popup reads it, and forgets it when the tab navigates or closes.
 */

import { spansToUtf16 } from "./lib/offsets.js";
import { analyseArticle, fetchTechniques, permanentLink, ServiceProblem } from "./lib/service.js";
import { loadSettings } from "./lib/settings.js";
import { stateKey } from "./lib/state.js";
import { noFilters } from "./lib/techniques.js";

const api = globalThis.browser ?? globalThis.chrome;

async function setState(tabId, state) {
  await api.storage.session.set({ [stateKey(tabId)]: state });
  const badge =
    state.status === "marked" ? String(state.spans.length) : state.status === "error" ? "!" : "";
  await api.action.setBadgeText({ tabId, text: badge }).catch(() => {});
}

async function getState(tabId) {
  return (await api.storage.session.get(stateKey(tabId)))[stateKey(tabId)] ?? null;
}

/** Ask the content script of a tab to do something; its errors become problems to show. */
async function tellPage(tabId, message) {
  const answer = await api.tabs.sendMessage(tabId, message).catch(() => null);
  if (!answer?.ok) throw new ServiceProblem(answer?.message ?? "The page did not answer; reload it and try again.");
  return answer;
}

/** Browsers stop an idle worker after 30 s; an API call now and then keeps it for a long analysis. */
const KEEP_ALIVE_MS = 20_000;

async function analyse(tabId) {
  await setState(tabId, { status: "working" });
  const keepAlive = setInterval(() => api.runtime.getPlatformInfo(), KEEP_ALIVE_MS);
  try {
    const settings = await loadSettings(api.storage.local);
    if (!settings.token) {
      throw new ServiceProblem(
        "Set the service address and the token that 'propscan serve' showed in the extension's " +
          "options first; nothing was sent.",
      );
    }
    try {
      await api.scripting.executeScript({ target: { tabId }, files: ["content.js"] });
    } catch (error) {
      throw new ServiceProblem(
        `propscan cannot read this page: the browser keeps extensions out of it (${error.message ?? error}).`,
      );
    }
    await tellPage(tabId, { kind: "clear" });
    await api.scripting.removeCSS({ target: { tabId }, files: ["marks.css"] }).catch(() => {});
    const article = await tellPage(tabId, { kind: "extract" });
    // the techniques first: a wrong address or token is found before any text is sent
    const techniques = await fetchTechniques(settings);
    const analysis = await analyseArticle(settings, article);
    let spans;
    try {
      spans = spansToUtf16(article.text, analysis.spans);
    } catch (error) {
      throw new ServiceProblem(`The service's answer does not fit the page's text (${error.message}); nothing was marked.`);
    }
    const filters = noFilters();
    await api.scripting.insertCSS({ target: { tabId }, files: ["marks.css"] });
    const marked = await tellPage(tabId, { kind: "mark", spans, techniques, filters });
    await setState(tabId, {
      status: "marked",
      id: analysis.id,
      link: permanentLink(settings.serviceUrl, analysis.id),
      serviceUrl: settings.serviceUrl,
      spans: analysis.spans.map(({ technique, score }) => ({ technique, score })),
      techniques,
      filters,
      shown: marked.shown,
    });
  } catch (error) {
    const message =
      error instanceof ServiceProblem ? error.message : `Something went wrong in the extension: ${error}`;
    await setState(tabId, { status: "error", message });
  } finally {
    clearInterval(keepAlive);
  }
}

async function filter(tabId, filters) {
  const state = await getState(tabId);
  if (state?.status !== "marked") return;
  const { shown } = await tellPage(tabId, { kind: "filter", filters });
  await setState(tabId, { ...state, filters, shown });
}

async function clear(tabId) {
  await tellPage(tabId, { kind: "clear" }).catch(() => {});
  await api.scripting.removeCSS({ target: { tabId }, files: ["marks.css"] }).catch(() => {});
  await setState(tabId, { status: "cleared" });
}

const actions = {
  analyse: ({ tabId }) => analyse(tabId),
  filter: ({ tabId, filters }) => filter(tabId, filters),
  clear: ({ tabId }) => clear(tabId),
};

api.runtime.onMessage.addListener((message, sender, reply) => {
  const action = message && actions[message.kind];
  // only the extension's own pages (the popup) may ask, not its content scripts in pages
  const fromOwnPage = sender.id === api.runtime.id && sender.url?.startsWith(api.runtime.getURL(""));
  if (!action || !fromOwnPage) return false;
  action(message).then(
    () => reply({ ok: true }),
    (error) => reply({ ok: false, message: String(error.message ?? error) }),
  );
  return true;
});

api.tabs.onUpdated.addListener((tabId, change) => {
  if (change.status === "loading") api.storage.session.remove(stateKey(tabId));
});
api.tabs.onRemoved.addListener((tabId) => api.storage.session.remove(stateKey(tabId)));
