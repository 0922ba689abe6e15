/**
 * The article's text as the reader sees it, and where each of its characters is on the page.
 *
 * Text nodes are read in document order. Whitespace collapses as the browser renders it (a
 * run becomes one space, none at the edges of a block), block boundaries become a blank line
 * and <br> a line break. Every character of the result maps to the DOM text node and offset
 * it came from; the line breaks put between blocks map to nothing. So a span of the text is
 * marked on the page by wrapping the DOM characters its mapped characters lie on, across
 * inline markup and paragraphs.
 */

const SKIPPED = new Set([
  "script", "style", "noscript", "template", "textarea", "select", "option", "iframe",
  "object", "embed", "canvas", "svg", "math", "head", "button",
]);
// CSS's collapsible white space: space, tab, line feed, form feed, carriage return
const COLLAPSIBLE = new Set([0x20, 0x09, 0x0a, 0x0c, 0x0d]);

/**
 * @typedef {{text: string, nodes: (Text | null)[], offsets: Int32Array}} TextMap
 *   ``nodes[i]`` and ``offsets[i]``: the DOM text node and UTF-16 offset of ``text[i]``
 *   (``null`` for a line break between blocks)
 */

/** Whether an element's box starts a new block (anything that is not inline content). */
export function isBlock(display) {
  return !(display.startsWith("inline") || display === "contents" || display.startsWith("ruby"));
}

/**
 * The rendered text of the text nodes under ``root`` that ``keep`` accepts, with its map.
 * @param {Element} root
 * @param {(text: Text) => boolean} keep
 * @param {Window} view for computed styles
 * @returns {TextMap}
 */
export function buildTextMap(root, keep, view) {
  const characters = [];
  const nodes = [];
  const offsets = [];
  let started = false; // a character was written
  let pendingBreak = ""; // "\n" or "\n\n" to write before the next character
  let pendingSpace = null; // [node, offset] of the first white space of a collapsed run

  const write = (character, node, offset) => {
    characters.push(character);
    nodes.push(node);
    offsets.push(offset);
  };
  const flush = () => {
    if (started && pendingBreak) {
      for (const character of pendingBreak) write(character, null, -1);
    } else if (started && pendingSpace) {
      write(" ", pendingSpace[0], pendingSpace[1]);
    }
    pendingBreak = "";
    pendingSpace = null;
    started = true;
  };
  const breakLine = (kind) => {
    if (started && kind.length > pendingBreak.length) pendingBreak = kind;
    pendingSpace = null;
  };
  const readText = (node, style) => {
    const data = node.data;
    const preformatted = style.whiteSpace.startsWith("pre") || style.whiteSpace === "break-spaces";
    for (let i = 0; i < data.length; i += 1) {
      const code = data.charCodeAt(i);
      if (preformatted && code === 0x0a) {
        breakLine("\n");
      } else if (!preformatted && COLLAPSIBLE.has(code)) {
        if (started && !pendingBreak && !pendingSpace) pendingSpace = [node, i];
      } else {
        flush();
        write(data[i], node, i);
      }
    }
  };
  const visit = (element, style) => {
    const visible = style.visibility !== "hidden" && style.visibility !== "collapse";
    for (let child = element.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === 3) {
        if (visible && keep(child)) readText(child, style);
      } else if (child.nodeType === 1 && !SKIPPED.has(child.localName)) {
        const childStyle = view.getComputedStyle(child);
        if (childStyle.display === "none") continue;
        if (child.localName === "br") {
          breakLine("\n");
          continue;
        }
        const block = isBlock(childStyle.display);
        if (block) breakLine("\n\n");
        visit(child, childStyle);
        if (block) breakLine("\n\n");
      }
    }
  };
  visit(root, view.getComputedStyle(root));
  return { text: characters.join(""), nodes, offsets: Int32Array.from(offsets) };
}

/**
 * The pieces of DOM text that hold ``text[start:end]``: one per text node, from its first
 * mapped character to its last (the white space collapsed in between included, so that a
 * highlight has no gaps).
 * @param {TextMap} map
 * @param {number} start
 * @param {number} end
 * @returns {{node: Text, from: number, to: number}[]}
 */
export function domPieces(map, start, end) {
  const pieces = [];
  for (let i = start; i < end; i += 1) {
    const node = map.nodes[i];
    if (node === null) continue;
    const last = pieces[pieces.length - 1];
    if (last && last.node === node) {
      last.to = map.offsets[i] + 1;
    } else {
      pieces.push({ node, from: map.offsets[i], to: map.offsets[i] + 1 });
    }
  }
  return pieces;
}
