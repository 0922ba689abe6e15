/**
 * propscan's offsets count Unicode code points (Python strings); JavaScript strings count
 * UTF-16 code units, so an emoji or any character outside the Basic Multilingual Plane is
 * one offset to the service and two to the page. Offsets are converted here, once, at the
 * edge between the two.
 */

/**
 * The text with every unpaired surrogate replaced by U+FFFD: the service refuses unpaired
 * surrogates, and the replacement keeps every UTF-16 index where it was.
 * @param {string} text
 * @returns {string}
 */
export function wellFormed(text) {
  return text.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
}

/**
 * For each code-point offset 0..n of ``text``, the UTF-16 index it stands for.
 * @param {string} text a well-formed string
 * @returns {number[]} n + 1 indexes, the last one text.length
 */
export function utf16Indexes(text) {
  const indexes = [];
  let unit = 0;
  for (const character of text) {
    indexes.push(unit);
    unit += character.length;
  }
  indexes.push(unit);
  return indexes;
}

/**
 * The service's spans with ``start`` and ``end`` turned into UTF-16 indexes of ``text``.
 * An offset outside the text means the answer does not belong to this text: that is an error,
 * never a mark in the wrong place.
 * @template {{start: number, end: number}} S
 * @param {string} text
 * @param {S[]} spans
 * @returns {S[]}
 */
export function spansToUtf16(text, spans) {
  const indexes = utf16Indexes(text);
  const last = indexes.length - 1;
  return spans.map((span) => {
    const { start, end } = span;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > last || start >= end) {
      throw new RangeError(`span ${start}:${end} does not fit a text of ${last} characters`);
    }
    return { ...span, start: indexes[start], end: indexes[end] };
  });
}
