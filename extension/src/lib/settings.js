/**
 * The extension's settings: where the reader's propscan service is, its token, and how long
 * to wait for it. Each value is checked once, where the options page takes it.
 */

export const DEFAULT_SETTINGS = Object.freeze({
  serviceUrl: "http://127.0.0.1:8000",
  token: "",
  timeoutSeconds: 60,
});
export const MAX_TIMEOUT_SECONDS = 600;

/** A setting the reader must correct; the message says what and how. */
export class SettingsError extends Error {}

/**
 * The service address as the extension uses it: an http(s) URL without a trailing slash
 * (a path is kept, for a service behind a proxy at /propscan).
 * @param {string} input
 * @returns {string}
 */
export function checkServiceUrl(input) {
  const trimmed = String(input ?? "").trim();
  const example = `such as ${DEFAULT_SETTINGS.serviceUrl}`;
  if (!/^https?:\/\//i.test(trimmed)) {
    throw new SettingsError(`the service address must start with http:// or https://, ${example}`);
  }
  let url;
  try {
    url = new URL(trimmed);
  } catch {
    throw new SettingsError(`"${trimmed}" is not an address; give the service's address, ${example}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new SettingsError("give the service address without a user name, password, ? or #");
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/**
 * @param {string} input the token that `propscan serve` showed
 * @returns {string}
 */
export function checkToken(input) {
  const token = String(input ?? "").trim();
  if (!token) {
    throw new SettingsError("paste the token that 'propscan serve' showed when it made it");
  }
  if (/[\s\u0000-\u001f\u007f-\uffff]/u.test(token)) {
    throw new SettingsError("the token is one word of letters, digits, - and _; paste it again");
  }
  return token;
}

/**
 * @param {string | number} input
 * @returns {number}
 */
export function checkTimeout(input) {
  const seconds = Number(input);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > MAX_TIMEOUT_SECONDS) {
    throw new SettingsError(`the time limit must be a number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`);
  }
  return seconds;
}

/**
 * The stored settings over the defaults.
 * @param {{get: (keys: string[]) => Promise<object>}} storage the extension's local storage
 */
export async function loadSettings(storage) {
  const stored = await storage.get(Object.keys(DEFAULT_SETTINGS));
  return { ...DEFAULT_SETTINGS, ...stored };
}
