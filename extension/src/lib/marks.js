/**
 * Marks on the page: each segment of the analysis is wrapped in <mark> elements over the
 * page's own characters, and everything done is recorded so that clearing puts back the
 * very same text nodes with the very same text.
 */

import { domPieces } from "./textmap.js";
import { segments, rankByConfidence } from "./segments.js";
import { describe, isShown, labelOf } from "./techniques.js";

export const SPANS_ATTRIBUTE = "data-propscan-spans";
export const TOOLTIP_ID = "propscan-tooltip";

/** The page changed since its text was read; marks would land in the wrong place. */
export class PageChanged extends Error {}

/**
 * @typedef {{start: number, end: number, technique: string | null, score: number | null}} Span
 *   start and end are UTF-16 indexes of the text map's text
 */

export class Highlighter {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    /** @type {{node: Text, data: string, inserted: Node[]}[]} */
    this.touched = [];
    /** @type {{element: HTMLElement, ids: number[]}[]} */
    this.marks = [];
    /** @type {Span[]} */
    this.spans = [];
    this.techniques = [];
  }

  get active() {
    return this.touched.length > 0;
  }

  /**
   * Mark ``spans`` on the page whose text ``map`` was read from.
   * @param {import("./textmap.js").TextMap} map
   * @param {Span[]} spans
   * @param {import("./techniques.js").Technique[]} techniques
   */
  apply(map, spans, techniques) {
    this.clear();
    checkUnchanged(map);
    this.spans = spans;
    this.techniques = techniques;
    const piecesByNode = new Map();
    for (const segment of segments(spans)) {
      for (const piece of domPieces(map, segment.start, segment.end)) {
        const pieces = piecesByNode.get(piece.node) ?? [];
        pieces.push({ ...piece, ids: segment.ids });
        piecesByNode.set(piece.node, pieces);
      }
    }
    for (const [node, pieces] of piecesByNode) this.wrap(node, pieces);
  }

  /** Split one text node into plain text and marks; the node itself keeps the first part. */
  wrap(node, pieces) {
    const data = node.data;
    const parts = this.doc.createDocumentFragment();
    let cursor = pieces[0].from;
    for (const piece of pieces) {
      if (piece.from > cursor) parts.append(this.doc.createTextNode(data.slice(cursor, piece.from)));
      const mark = this.doc.createElement("mark");
      mark.textContent = data.slice(piece.from, piece.to);
      mark.setAttribute(SPANS_ATTRIBUTE, piece.ids.join(" "));
      mark.setAttribute("tabindex", "0");
      mark.setAttribute("aria-describedby", TOOLTIP_ID);
      parts.append(mark);
      this.marks.push({ element: mark, ids: piece.ids });
      cursor = piece.to;
    }
    if (cursor < data.length) parts.append(this.doc.createTextNode(data.slice(cursor)));
    const inserted = [...parts.childNodes];
    node.data = data.slice(0, pieces[0].from);
    node.parentNode.insertBefore(parts, node.nextSibling);
    this.touched.push({ node, data, inserted });
  }

  /**
   * Colour each mark after its most confident shown span (and underline it in the colour
   * of the next shown technique); a mark with no shown span looks like plain text.
   * @param {import("./techniques.js").Filters} filters
   * @returns {number} how many spans are shown
   */
  filter(filters) {
    for (const { element, ids } of this.marks) {
      const shown = rankByConfidence(this.spans, ids.filter((id) => isShown(this.spans[id], filters)));
      const style = element.style;
      if (shown.length === 0) {
        element.setAttribute("data-propscan-off", "");
        element.setAttribute("tabindex", "-1"); // hidden marks are no Tab stops
        element.removeAttribute("data-propscan-multi");
        style.removeProperty("--propscan-fill");
        style.removeProperty("--propscan-line");
        continue;
      }
      element.removeAttribute("data-propscan-off");
      element.setAttribute("tabindex", "0");
      const first = labelOf(this.spans[shown[0]]);
      style.setProperty("--propscan-fill", describe(this.techniques, first).colour);
      const other = shown.map((id) => labelOf(this.spans[id])).find((label) => label !== first);
      if (other === undefined) style.removeProperty("--propscan-line");
      else style.setProperty("--propscan-line", describe(this.techniques, other).colour);
      if (shown.length > 1) element.setAttribute("data-propscan-multi", "");
      else element.removeAttribute("data-propscan-multi");
    }
    return this.spans.filter((span) => isShown(span, filters)).length;
  }

  /** The spans a mark stands for, most confident first, with the filters applied. */
  spansOf(element, filters) {
    const ids = (element.getAttribute(SPANS_ATTRIBUTE) ?? "").split(" ").map(Number);
    const shown = ids.filter((id) => this.spans[id] && isShown(this.spans[id], filters));
    return rankByConfidence(this.spans, shown).map((id) => this.spans[id]);
  }

  /** Whether ``element`` is one of the marks made here (not a <mark> of the page's own). */
  owns(element) {
    return this.marks.some((mark) => mark.element === element);
  }

  /** Take every mark away: the page's text nodes get their own text back. */
  clear() {
    for (const { node, data, inserted } of this.touched.reverse()) {
      for (const added of inserted) added.remove();
      node.data = data;
    }
    this.touched = [];
    this.marks = [];
    this.spans = [];
  }
}

/** Refuse to mark when a mapped character is no longer what was read. */
function checkUnchanged(map) {
  for (let i = 0; i < map.text.length; i += 1) {
    const node = map.nodes[i];
    if (node === null) continue;
    const now = node.isConnected ? node.data.charAt(map.offsets[i]) : "";
    const read = map.text[i];
    const same = now === read || (read === " " && /\s/.test(now)) || read === "\uFFFD";
    if (!same) {
      throw new PageChanged(
        "The page changed while propscan analysed it, so the marks would not fit; mark it again.",
      );
    }
  }
}
