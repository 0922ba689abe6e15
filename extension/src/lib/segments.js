/**
 * Overlapping spans cut into segments: pieces of text covered by the same set of spans,
 * each highlighted once with the facts of all its spans.
 */

/**
 * @param {{start: number, end: number}[]} spans
 * @returns {{start: number, end: number, ids: number[]}[]} in text order, never empty sets
 */
export function segments(spans) {
  const cuts = [...new Set(spans.flatMap((span) => [span.start, span.end]))].sort((a, b) => a - b);
  const pieces = [];
  for (let i = 0; i + 1 < cuts.length; i += 1) {
    const start = cuts[i];
    const end = cuts[i + 1];
    const ids = [];
    spans.forEach((span, id) => {
      if (span.start <= start && end <= span.end) ids.push(id);
    });
    if (ids.length) pieces.push({ start, end, ids });
  }
  return pieces;
}

/**
 * Span ids from the most to the least confident (an earlier span first on ties), as
 * propscan's own page ranks them.
 * @param {{score: number | null}[]} spans
 * @param {number[]} ids
 * @returns {number[]}
 */
export function rankByConfidence(spans, ids) {
  return [...ids].sort((a, b) => (spans[b].score ?? 0) - (spans[a].score ?? 0) || a - b);
}
