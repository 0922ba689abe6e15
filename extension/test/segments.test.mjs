import assert from "node:assert/strict";
import { test } from "node:test";

import fc from "fast-check";

import { rankByConfidence, segments } from "../src/lib/segments.js";

test("overlapping spans become segments covered by the same spans", () => {
  const spans = [
    { start: 0, end: 10 },
    { start: 5, end: 15 },
    { start: 20, end: 25 },
  ];
  assert.deepEqual(segments(spans), [
    { start: 0, end: 5, ids: [0] },
    { start: 5, end: 10, ids: [0, 1] },
    { start: 10, end: 15, ids: [1] },
    { start: 20, end: 25, ids: [2] },
  ]);
});

test("segments cover exactly the characters of the spans, each span by its own segments", () => {
  const span = fc.tuple(fc.nat(50), fc.integer({ min: 1, max: 20 })).map(([start, length]) => ({ start, end: start + length }));
  fc.assert(
    fc.property(fc.array(span, { maxLength: 8 }), (spans) => {
      const pieces = segments(spans);
      for (let i = 1; i < pieces.length; i += 1) assert.ok(pieces[i - 1].end <= pieces[i].start);
      spans.forEach((s, id) => {
        const own = pieces.filter((piece) => piece.ids.includes(id));
        assert.equal(own[0].start, s.start);
        assert.equal(own[own.length - 1].end, s.end);
        const covered = own.reduce((sum, piece) => sum + piece.end - piece.start, 0);
        assert.equal(covered, s.end - s.start);
      });
    }),
  );
});

test("ranking puts the most confident first, the earlier span on ties", () => {
  const spans = [{ score: 0.5 }, { score: 0.9 }, { score: 0.5 }, { score: null }];
  assert.deepEqual(rankByConfidence(spans, [0, 1, 2, 3]), [1, 0, 2, 3]);
});
