import assert from "node:assert/strict";
import { test } from "node:test";

import { countsByTechnique, describe, isShown, noFilters, percent } from "../src/lib/techniques.js";

const TECHNIQUES = [
  { label: "Loaded_Language", name: "Loaded language", colour: "#77aadd", definition: "Emotive words." },
  { label: "Name_Calling,Labeling", name: "Name calling", colour: "#ee8866", definition: "Labels." },
];

test("counts follow the service's order of techniques, unknown labels last", () => {
  const spans = [
    { technique: "Name_Calling,Labeling", score: 0.9 },
    { technique: "Loaded_Language", score: 0.4 },
    { technique: "Loaded_Language", score: 0.8 },
    { technique: null, score: null },
    { technique: "New_Technique", score: 0.7 },
  ];
  const rows = countsByTechnique(spans, TECHNIQUES).map((row) => [row.technique.name, row.count]);
  assert.deepEqual(rows, [["Loaded language", 2], ["Name calling", 1], ["Unlabelled", 1], ["New_Technique", 1]]);
  const confident = countsByTechnique(spans, TECHNIQUES, 0.5).map((row) => row.count);
  assert.deepEqual(confident, [1, 1, 1, 1]); // a span without a score always counts
});

test("filters hide techniques and spans below the minimum confidence", () => {
  const span = { technique: "Loaded_Language", score: 0.6 };
  assert.ok(isShown(span, noFilters()));
  assert.ok(!isShown(span, { hidden: ["Loaded_Language"], minScore: 0 }));
  assert.ok(!isShown(span, { hidden: [], minScore: 0.7 }));
  assert.ok(isShown({ technique: null, score: null }, { hidden: [], minScore: 1 }));
  assert.ok(!isShown({ technique: null, score: null }, { hidden: ["?"], minScore: 0 }));
});

test("unknown techniques get neutral facts", () => {
  assert.equal(describe(TECHNIQUES, "Loaded_Language").colour, "#77aadd");
  assert.deepEqual(describe(TECHNIQUES, "?"), {
    label: "?",
    name: "Unlabelled",
    colour: "#dddddd",
    definition: "A span whose technique is unknown.",
  });
  assert.equal(percent(0.834), "83%");
  assert.equal(percent(null), "–");
});
