import assert from "node:assert/strict";
import { test } from "node:test";

import fc from "fast-check";

import { spansToUtf16, utf16Indexes, wellFormed } from "../src/lib/offsets.js";

/** Python's text[start:end] with code-point offsets. */
const pythonSlice = (text, start, end) => [...text].slice(start, end).join("");

test("astral characters count once to the service and twice to JavaScript", () => {
  const text = "🙂🇺🇸 They 👍🏽 lie";
  const start = [...text].indexOf("T");
  const [span] = spansToUtf16(text, [{ start, end: start + 4, technique: "X" }]);
  assert.equal(text.slice(span.start, span.end), "They");
  assert.equal(span.technique, "X");
  assert.deepEqual(utf16Indexes("a😀b"), [0, 1, 3, 4]);
});

test("every span in code points is the same fragment in UTF-16", () => {
  const anyText = fc.string({ unit: "grapheme", maxLength: 60 });
  fc.assert(
    fc.property(anyText, fc.nat(), fc.nat(), (text, a, b) => {
      const length = [...text].length;
      fc.pre(length > 0);
      const start = a % length;
      const end = start + 1 + (b % (length - start));
      const [span] = spansToUtf16(text, [{ start, end }]);
      assert.equal(text.slice(span.start, span.end), pythonSlice(text, start, end));
    }),
  );
});

test("offsets that do not fit the text are refused, never clamped", () => {
  for (const span of [{ start: 0, end: 9 }, { start: -1, end: 1 }, { start: 2, end: 2 }, { start: 0.5, end: 1 }]) {
    assert.throws(() => spansToUtf16("a😀b", [span]), RangeError);
  }
});

test("unpaired surrogates become U+FFFD and nothing moves", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
      const fixed = wellFormed(text);
      assert.equal(fixed.length, text.length);
      assert.doesNotThrow(() => encodeURIComponent(fixed)); // it throws on unpaired surrogates
      if (fixed.includes("\uFFFD") === text.includes("\uFFFD")) assert.equal(fixed, text);
    }),
  );
  assert.equal(wellFormed("a\uD800b\uDC00c😀"), "a\uFFFDb\uFFFDc😀");
});
