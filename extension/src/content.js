/**
 * The content script: reads the article on the page and marks it. It runs in the extension's
 * isolated world, where the page's scripts cannot reach; it never sees the service token
 * (the background worker talks to the service) and writes nothing into the page but marks.
 * Injected again on every use, it sets itself up once per page.
 */

import { extractArticle, NotAnArticle } from "./lib/extract.js";
import { Highlighter, PageChanged } from "./lib/marks.js";
import { Tooltip } from "./lib/tooltip.js";
import { noFilters } from "./lib/techniques.js";

const api = globalThis.browser ?? globalThis.chrome;
const SETUP = Symbol.for("propscan.content");

if (!globalThis[SETUP]) {
  globalThis[SETUP] = true;
  const highlighter = new Highlighter(document);
  let filters = noFilters();
  let map = null;
  const tooltip = new Tooltip(
    document,
    (element) => (highlighter.owns(element) ? highlighter.spansOf(element, filters) : null),
    () => highlighter.techniques,
  );

  const handlers = {
    extract() {
      const article = extractArticle(document);
      map = article.map;
      return { text: map.text, title: article.title, source: article.source };
    },
    mark({ spans, techniques, filters: chosen }) {
      if (map === null) throw new PageChanged("Read the page before marking it.");
      tooltip.detach();
      highlighter.apply(map, spans, techniques);
      filters = chosen ?? noFilters();
      tooltip.attach();
      return { shown: highlighter.filter(filters), marks: highlighter.marks.length };
    },
    filter({ filters: chosen }) {
      filters = chosen;
      tooltip.hide();
      return { shown: highlighter.filter(filters) };
    },
    clear() {
      tooltip.detach();
      highlighter.clear();
      map = null;
      return { cleared: true };
    },
  };

  api.runtime.onMessage.addListener((message, sender, reply) => {
    const handler = message && handlers[message.kind];
    if (!handler || sender.id !== api.runtime.id) return false;
    try {
      reply({ ok: true, ...handler(message) });
    } catch (error) {
      const known = error instanceof NotAnArticle || error instanceof PageChanged;
      reply({ ok: false, message: known ? error.message : `propscan could not read this page (${error})` });
    }
    return false;
  });
}
