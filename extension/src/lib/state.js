/**
 * Each tab's state, kept by the background worker in session storage and shown by the popup:
 * ``{status: "working" | "marked" | "error" | "cleared", ...}``.
 */

/** Session-storage key of a tab's state. */
export function stateKey(tabId) {
  return `tab-${tabId}`;
}
