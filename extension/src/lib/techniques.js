/**
 * What the popup and the marks show about techniques: names, colours and definitions as the
 * service's /api/techniques gives them (the extension lists no technique of its own), the
 * counts per technique and the filters.
 */

export const UNLABELLED = "?";
const NEUTRAL = { name: "Unlabelled", colour: "#dddddd", definition: "A span whose technique is unknown." };

/**
 * @typedef {{label: string, name: string, colour: string, definition: string}} Technique
 * @typedef {{technique: string | null, score: number | null}} Scored
 * @typedef {{hidden: string[], minScore: number}} Filters
 */

/** @returns {Filters} */
export function noFilters() {
  return { hidden: [], minScore: 0 };
}

/** The key of a span's technique in counts and filters (``?`` for an unlabelled span). */
export function labelOf(span) {
  return span.technique ?? UNLABELLED;
}

/**
 * The facts shown for ``label``: the service's, or neutral ones for a label it does not list.
 * @param {Technique[]} techniques
 * @param {string} label
 * @returns {Technique}
 */
export function describe(techniques, label) {
  const known = techniques.find((technique) => technique.label === label);
  if (known) return known;
  return { label, ...NEUTRAL, name: label === UNLABELLED ? NEUTRAL.name : label };
}

/**
 * Whether a span shows under the filters: its technique is not hidden and its confidence is
 * at least the minimum (a span without a score always shows, as on propscan's page).
 * @param {Scored} span
 * @param {Filters} filters
 */
export function isShown(span, filters) {
  return !filters.hidden.includes(labelOf(span)) && (span.score == null || span.score >= filters.minScore);
}

/**
 * Spans per technique, in the service's order of techniques (unknown labels last).
 * @param {Scored[]} spans
 * @param {Technique[]} techniques
 * @param {number} minScore count only spans at least this confident
 * @returns {{technique: Technique, count: number}[]} techniques with at least one span
 */
export function countsByTechnique(spans, techniques, minScore = 0) {
  const counts = new Map();
  for (const span of spans) {
    const label = labelOf(span);
    const counted = span.score == null || span.score >= minScore;
    counts.set(label, (counts.get(label) ?? 0) + (counted ? 1 : 0));
  }
  const order = techniques.map((technique) => technique.label);
  const rank = (label) => (order.includes(label) ? order.indexOf(label) : order.length);
  return [...counts.keys()]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((label) => ({ technique: describe(techniques, label), count: counts.get(label) }));
}

/** A confidence as people read it: 0.834 -> "83%". */
export function percent(score) {
  return score == null ? "–" : `${Math.round(100 * score)}%`;
}
