/**
 * The options page: the service address, its token and the time limit, each checked when
 * saved; "test the connection" asks the service for its health with the token.
 */

import { callService } from "./lib/service.js";
import { SettingsError, checkServiceUrl, checkTimeout, checkToken, loadSettings } from "./lib/settings.js";

const api = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);

function showError(message) {
  $("saved").textContent = "";
  $("error").hidden = !message;
  $("error").textContent = message ?? "";
}

async function save() {
  const settings = {
    serviceUrl: checkServiceUrl($("service-url").value),
    token: checkToken($("token").value),
    timeoutSeconds: checkTimeout($("timeout").value),
  };
  await api.storage.local.set(settings);
  $("service-url").value = settings.serviceUrl;
  showError(null);
  $("saved").textContent = "Saved.";
  return settings;
}

async function saveAndCheck() {
  const settings = await save();
  $("saved").textContent = "Saved; asking the service…";
  const health = await callService(settings, "/healthz");
  $("saved").textContent =
    `Saved. Connected to the propscan service at ${settings.serviceUrl}: model ` +
    `${health.model?.name} ${health.model?.version}, ${health.analyses} analyses in its history.`;
}

function guarded(action) {
  return async (event) => {
    event.preventDefault();
    try {
      await action();
    } catch (error) {
      showError(
        error instanceof SettingsError
          ? `Not saved: ${error.message}.`
          : `Saved, but the test failed. ${error.message}`,
      );
    }
  };
}

async function main() {
  const settings = await loadSettings(api.storage.local);
  $("service-url").value = settings.serviceUrl;
  $("token").value = settings.token;
  $("timeout").value = String(settings.timeoutSeconds);
  $("settings").addEventListener("submit", guarded(save));
  $("check").addEventListener("click", guarded(saveAndCheck));
  $("fields").disabled = false;
}

main();
