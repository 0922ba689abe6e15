/**
 * Finding the article on the page with Mozilla's Readability, without touching the page.
 *
 * Readability works on a copy of the document and rearranges it freely (it wraps, renames
 * and drops elements, and may re-parse whole subtrees), so it cannot tell which of the
 * page's own text nodes it kept. Each element of the copy is therefore numbered after its
 * twin on the page before Readability runs; the numbers that survive in its result name the
 * page's elements whose text is the article, and the text is then read from the page itself
 * (textmap.js), so that every character keeps its place on the page.
 */

import { Readability, isProbablyReaderable } from "@mozilla/readability";

import { buildTextMap } from "./textmap.js";
import { wellFormed } from "./offsets.js";

const NUMBER = "data-propscan-element";
/** Documents that can hold an article; a JSON or text file the browser shows cannot. */
const HTML_TYPES = new Set(["text/html", "application/xhtml+xml"]);
/** Less text than this is no article (a teaser, a form, a list of links). */
export const MIN_ARTICLE_CHARS = 250;

/** The page has no article to analyse; the message says so. */
export class NotAnArticle extends Error {}

/**
 * The article of ``doc``: its text with the map to the page's text nodes, title and site.
 * @param {Document} doc the page (left as it is)
 * @returns {{map: import("./textmap.js").TextMap, title: string, source: string}}
 */
export function extractArticle(doc) {
  const view = doc.defaultView;
  if (!HTML_TYPES.has(doc.contentType) || !doc.body || !isProbablyReaderable(doc)) {
    throw notAnArticle(); // a JSON or plain-text file shown by the browser is no article
  }
  const elements = doc.getElementsByTagName("*");
  const copy = /** @type {Document} */ (doc.cloneNode(true));
  const copies = copy.getElementsByTagName("*");
  if (copies.length !== elements.length) throw notAnArticle();
  for (let i = 0; i < copies.length; i += 1) copies[i].setAttribute(NUMBER, String(i));
  const article = new Readability(copy, { serializer: (element) => element }).parse();
  if (!article) throw notAnArticle();
  const root = /** @type {Element} */ (article.content);
  const kept = new Set();
  for (const element of [root, ...root.querySelectorAll(`[${NUMBER}]`)]) {
    const number = element.getAttribute(NUMBER);
    if (number !== null) kept.add(elements[Number(number)]);
  }
  const map = buildTextMap(doc.body, (text) => kept.has(text.parentElement), view);
  map.text = wellFormed(map.text);
  if (map.text.replace(/\s/g, "").length < MIN_ARTICLE_CHARS) throw notAnArticle();
  return {
    map,
    title: (article.title || doc.title || "").trim(),
    source: (article.siteName || doc.location?.hostname || "").trim(),
  };
}

function notAnArticle() {
  return new NotAnArticle(
    "This page does not look like an article: propscan found no main text to analyse " +
      "(it reads news articles and similar pages of running text). Nothing was sent.",
  );
}
