"""From token probabilities to labelled spans: the one decoder of every propscan model.

A model gives each token (a word, or a word piece) a propaganda probability and each
candidate span a probability per technique. The small pure functions here turn those
numbers into spans, one rule each, so that a change to decoding happens in one place:

1. **threshold** -- :func:`resolve_threshold`: the threshold a call gives, else the tuned one;
2. **runs** -- :func:`runs_above` (consecutive tokens at or above the threshold),
   :func:`merge_runs` (runs a few characters apart on one line joined) and
   :func:`bridged_runs` (word runs that bridge a few words below it, cut at line breaks);
3. **edges** -- the rules of :mod:`~propscan.models.span_edges`: ``trim_span`` drops
   whitespace and ``.,:;`` at both ends, as PTC annotations never start or end with
   them; ``extend_to_words`` grows a sub-word span to whole words; ``drop_dangling_end``
   removes a trailing function word ("… an open agreement and") that PTC annotators
   almost never end a span with; with ``whole_words``, ``balance_quotes`` leaves no
   quotation mark unmatched at an edge, only the pieces of a span outside web addresses
   are kept and a lone identity word is dropped; with ``complete_phrases``,
   ``complete_phrase_end`` takes in the words a trailing "every" or "our" points at and
   ``complete_phrase_start`` the first word of a sentence whose second word starts a span;
4. **candidates** -- :func:`decode_subword_spans` (the transformer) and
   :func:`decode_word_spans` (the classical baseline) compose the rules above into
   spans with a confidence; lone stop words and too short fragments are dropped;
5. **score** -- :class:`Calibration` maps a phrase's mean token probability and length
   to the probability, fitted on held-out articles, that its characters are propaganda;
6. **labels** -- :func:`label_top_two` names each span's most probable technique, and the
   second one when its probability reaches ``second_technique_threshold``;
   :func:`fragments_within` finds the shorter fragments of a phrase that may carry a
   technique of their own.

Why phrases: PTC's span scorer charges a whole unit of precision for every predicted
fragment, however short, and pays recall for covered gold characters, so fragments
a few characters apart are better joined and stray single words better dropped.

The tuned values of these rules live in
:class:`~propscan.models.decoding_settings.DecodingSettings`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache, partial
from typing import NamedTuple

import numpy as np

from propscan.core.sentences import split_sentence_starts
from propscan.core.spans import Span
from propscan.models.span_edges import (
    balance_quotes,
    complete_phrase_end,
    complete_phrase_start,
    drop_dangling_end,
    extend_to_words,
    has_word_character,
    is_lone_identity_word,
    is_lone_stop_word,
    outside_web_addresses,
    trim_span,
)

#: Words below the threshold that a word run may bridge between two propaganda words.
MAX_GAP_WORDS = 3


class Candidate(NamedTuple):
    """A decoded span before labelling: offsets into the text and the SI confidence."""

    start: int
    end: int
    confidence: float

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)


# --- 1. threshold ----------------------------------------------------------------------


def resolve_threshold(threshold: float | None, tuned: float) -> float:
    """The decision threshold of one call: ``threshold`` (checked by the caller) or ``tuned``."""
    return tuned if threshold is None else threshold


# --- 2. runs ---------------------------------------------------------------------------


def runs_above(probabilities: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Tokens ``[first, last)`` of each run of consecutive probabilities >= ``threshold``."""
    above = np.concatenate([[False], np.asarray(probabilities) >= threshold, [False]])
    edges = np.flatnonzero(above[1:] != above[:-1])
    return [(int(first), int(last)) for first, last in zip(edges[::2], edges[1::2], strict=True)]


def bridged_runs(
    text: str,
    offsets: np.ndarray,
    is_word: Sequence[bool],
    probabilities: np.ndarray,
    threshold: float,
    max_gap_words: int = MAX_GAP_WORDS,
) -> list[tuple[int, int]]:
    """Tokens ``[first, last)`` of runs that start and end at or above ``threshold``.

    A run bridges up to ``max_gap_words`` words below the threshold (punctuation does not
    count) and always ends at a line break, as PTC spans stay within a line.
    """
    runs: list[tuple[int, int]] = []
    first = last = -1  # the first and last token above threshold of the current run
    gap = 0  # words below threshold since ``last``
    for index in range(len(offsets)):
        if last >= 0 and "\n" in text[offsets[index - 1][1] : offsets[index][0]]:
            runs.append((first, last + 1))
            first = last = -1
        if probabilities[index] >= threshold:
            first = index if last < 0 else first
            last, gap = index, 0
        elif is_word[index] and last >= 0:
            gap += 1
            if gap > max_gap_words:
                runs.append((first, last + 1))
                first = last = -1
    if last >= 0:
        runs.append((first, last + 1))
    return runs


def merge_runs(
    text: str, offsets: np.ndarray, runs: Sequence[tuple[int, int]], max_gap: int
) -> list[tuple[int, int]]:
    """Join runs at most ``max_gap`` characters apart with no line break between them."""
    merged: list[tuple[int, int]] = []
    for first, last in runs:
        if merged:
            gap_start = int(offsets[merged[-1][1] - 1][1])
            gap_end = int(offsets[first][0])
            if gap_end - gap_start <= max_gap and "\n" not in text[gap_start:gap_end]:
                merged[-1] = (merged[-1][0], last)
                continue
        merged.append((first, last))
    return merged


# --- 3. edges: see :mod:`propscan.models.span_edges` ------------------------------------


# --- 4. candidates ---------------------------------------------------------------------


def decode_subword_spans(
    text: str,
    offsets: np.ndarray,
    probabilities: np.ndarray,
    threshold: float,
    *,
    max_gap: int = -1,
    min_characters: int = 0,
    trim_function_words: bool = False,
    whole_words: bool = False,
    complete_phrases: bool = False,
) -> list[Candidate]:
    """Spans of a sub-word model: runs of tokens at or above ``threshold`` (joined when at
    most ``max_gap`` characters apart; -1 never joins), trimmed and grown to whole words;
    the confidence is the mean probability of the span's tokens.

    ``trim_function_words`` drops trailing function words and lone stop words; spans
    shorter than ``min_characters`` are dropped. ``whole_words`` also keeps joined words
    (hyphens, apostrophes, slashes, initialisms) whole, leaves no quotation mark unmatched
    at an edge, keeps only the pieces of a span outside web addresses (each a span of its
    own) and drops a lone identity word. ``complete_phrases`` grows a span that ends on a
    word such as "every" or "our" over the words it points at, and one that starts on a
    sentence's second word over the first ("Make no mistake"). A run that grows into the
    span before it (a piece of one of its words) gives no span of its own.
    """
    runs = runs_above(probabilities, threshold)
    if max_gap >= 0:
        runs = merge_runs(text, offsets, runs, max_gap)
    find_sentence_starts = cache(partial(split_sentence_starts, text))  # split only if asked
    candidates: list[Candidate] = []
    for index, (first, last) in enumerate(runs):
        trimmed = trim_span(text, int(offsets[first][0]), int(offsets[last - 1][1]))
        if trimmed is None:
            continue
        start, end = extend_to_words(text, *trimmed, joined=whole_words)
        if complete_phrases:  # before dangling words go: "betray their" -> "... country"
            following = runs[index + 1][0] if index + 1 < len(runs) else None
            limit = len(text) if following is None else int(offsets[following][0])
            start, end = complete_phrase_end(text, start, end, limit)
        # each piece of a span outside web addresses is a span of its own
        pieces = outside_web_addresses(text, start, end) if whole_words else [(start, end)]
        confidence = float(probabilities[first:last].mean())
        for start, end in pieces:
            if trim_function_words:
                start, end = drop_dangling_end(text, start, end)
                if is_lone_stop_word(text, start, end):
                    continue
            if whole_words:
                balanced = balance_quotes(text, start, end)
                if balanced is None or is_lone_identity_word(text, *balanced):
                    continue
                start, end = balanced
            if complete_phrases:  # after the rules, which drop "so" or "British" alone
                floor = int(offsets[runs[index - 1][1] - 1][1]) if index else 0
                start, end = complete_phrase_start(text, start, end, find_sentence_starts, floor)
            if end - start < min_characters:
                continue
            if candidates and candidates[-1].start <= start and end <= candidates[-1].end:
                continue  # a piece of a word the span before grew over
            candidates.append(Candidate(start, end, confidence))
    return candidates


def decode_word_spans(
    text: str,
    offsets: np.ndarray,
    is_word: Sequence[bool],
    probabilities: np.ndarray,
    threshold: float,
) -> list[Candidate]:
    """Spans of a word-level model: :func:`bridged_runs`, trimmed, holding a letter or digit.

    The confidence is the mean probability of the span's words; a one-word span needs
    twice the threshold, as lone words are mostly noise.
    """
    candidates: list[Candidate] = []
    for first, last in bridged_runs(text, offsets, is_word, probabilities, threshold):
        trimmed = trim_span(text, int(offsets[first][0]), int(offsets[last - 1][1]))
        if trimmed is None or not has_word_character(text, *trimmed):
            continue
        words = [index for index in range(first, last) if is_word[index]] or [first]
        confidence = float(np.mean(probabilities[words]))
        if len(words) > 1 or confidence >= 2 * threshold:
            candidates.append(Candidate(*trimmed, confidence))
    return candidates


# --- 5. score --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Calibration:
    """Platt scaling of a phrase's mean token probability and length, fitted on validation.

    ``probability = sigmoid(a * logit(p) + b * log(characters) + c)``; the identity
    (a=1, b=0, c=0) leaves the mean token probability as it is. A calibrated score of 0.7
    means that, on held-out articles, about 70% of such a phrase's characters lay inside
    spans the annotators marked.
    """

    a: float = 1.0
    b: float = 0.0
    c: float = 0.0

    def __call__(self, probability: float, characters: int) -> float:
        return self.of_features(*self.features(probability, characters))

    def of_features(self, logit: float, log_characters: float) -> float:
        z = self.a * logit + self.b * log_characters + self.c
        return 0.5 * (1.0 + math.tanh(0.5 * z))

    @staticmethod
    def features(probability: float, characters: int) -> tuple[float, float]:
        """The logit of the probability and the log length that the scaling reads."""
        p = min(max(probability, 1e-6), 1 - 1e-6)
        return math.log(p / (1 - p)), math.log(max(characters, 1))


# --- 6. labels -------------------------------------------------------------------------


def label_top_two(
    candidates: Sequence[Candidate],
    probabilities: np.ndarray,
    labels: Sequence[str],
    second_technique_threshold: float,
    *,
    digits: int | None = None,
    scale_by_technique: bool = True,
) -> list[Span]:
    """Each candidate with its most probable technique, plus the second most probable one
    when its probability reaches ``second_technique_threshold`` (and is above 0).

    ``probabilities[i, k]`` is the probability of ``labels[k]`` for candidate ``i``; a
    span's score is its confidence, times the technique's probability when
    ``scale_by_technique``, rounded to ``digits`` decimals when given.
    """
    spans: list[Span] = []
    for candidate, row in zip(candidates, probabilities, strict=True):
        for rank, k in enumerate(np.argsort(-row)[:2]):
            probability = float(row[k])
            if rank == 1 and (probability < second_technique_threshold or probability <= 0.0):
                break
            score = candidate.confidence * (probability if scale_by_technique else 1.0)
            spans.append(
                Span(
                    candidate.start,
                    candidate.end,
                    labels[k],
                    score if digits is None else round(score, digits),
                )
            )
    return spans


def prior_adjusted(probabilities: np.ndarray, prior: Sequence[float], weight: float) -> np.ndarray:
    """Technique rows divided by each technique's share of the fitted spans to the power
    ``weight``, renormalised (0 or no prior: unchanged).

    A classifier fitted on skewed labels learns the skew; dividing it out (post-hoc logit
    adjustment, Menon et al. 2021) trades a little accuracy on frequent techniques for
    recall on rare ones, how much being the tuned ``weight``.
    """
    if weight == 0.0 or not len(prior):
        return probabilities
    rows = probabilities * np.asarray(prior, dtype=np.float64) ** -weight
    return rows / np.maximum(rows.sum(axis=1, keepdims=True), 1e-300)


def repetition_rules(
    probabilities: np.ndarray,
    repeats: np.ndarray,
    column: int,
    *,
    needs_recurrence: bool,
    min_repeats: int = -1,
) -> np.ndarray:
    """Technique rows with the article-level Repetition rules applied.

    A fragment that does not recur in its article gets no Repetition (when
    ``needs_recurrence``); one that recurs at least ``min_repeats`` times elsewhere (0 or
    more; -1 is off) gets Repetition as its most probable technique, the others keeping
    their order: in PTC train, 70% of the gold spans that recur three or more times are
    labelled Repetition, and 2% of those that never recur.
    """
    if not needs_recurrence and min_repeats < 0:
        return probabilities
    rows = np.array(probabilities, copy=True)
    if needs_recurrence:
        rows[repeats == 0, column] = 0.0
    if min_repeats >= 0:
        rows[repeats >= min_repeats, column] = 1.0
    return rows / np.maximum(rows.sum(axis=1, keepdims=True), 1e-12)


def fragments_within(
    phrases: Sequence[Candidate], fragments: Sequence[Candidate]
) -> list[tuple[int, Candidate]]:
    """``(phrase index, fragment)`` for each fragment lying inside a longer phrase.

    Both lists are in text order, as :func:`decode_subword_spans` gives them; a fragment
    equal to its phrase is left out, as the phrase already carries its techniques.
    """
    found: list[tuple[int, Candidate]] = []
    index = 0
    for fragment in fragments:
        while index < len(phrases) and phrases[index].end < fragment.end:
            index += 1
        if index == len(phrases):
            break
        phrase = phrases[index]
        inside = phrase.start <= fragment.start and fragment.end <= phrase.end
        if inside and (fragment.start, fragment.end) != (phrase.start, phrase.end):
            found.append((index, fragment))
    return found


def technique_fragments(
    phrases: Sequence[Candidate],
    phrase_spans: Sequence[Span],
    phrase_probabilities: np.ndarray,
    inside: Sequence[tuple[int, Candidate]],
    fragment_probabilities: np.ndarray,
    labels: Sequence[str],
    handover_share: float = -1.0,
    *,
    digits: int | None = None,
) -> list[Span]:
    """The labelled phrases with the technique fragments inside them.

    ``phrase_spans`` are the phrases labelled by :func:`label_top_two`; ``inside`` are
    :func:`fragments_within`'s fragments, whose technique is their most probable one. A
    fragment whose technique its phrase lacks is added as its own span. With
    ``handover_share`` >= 0, a phrase also hands a technique it has over to its fragments
    of that technique when they cover at most that share of its characters, and takes its
    next most probable technique instead: FLC scores a long phrase named Loaded_Language
    by the few gold characters of that technique in it, its short fragments by their own.
    Every fragment is shown with its phrase's score; the union of the spans is unchanged.
    """
    labelled: list[list[Span]] = [[] for _ in phrases]
    where = {(phrase.start, phrase.end): i for i, phrase in enumerate(phrases)}
    for span in phrase_spans:
        labelled[where[(span.start, span.end)]].append(span)
    added: list[Span] = []
    same: dict[tuple[int, str], list[Candidate]] = {}
    for (index, fragment), row in zip(inside, fragment_probabilities, strict=True):
        technique = labels[int(np.argmax(row))]
        if any(span.technique == technique for span in labelled[index]):
            same.setdefault((index, technique), []).append(fragment)
        else:
            added.append(_fragment_span(fragment, technique, phrases[index], digits))
    if handover_share >= 0.0:
        for (index, technique), fragments in same.items():
            phrase = phrases[index]
            covered = sum(fragment.end - fragment.start for fragment in fragments)
            if covered > handover_share * (phrase.end - phrase.start):
                continue
            added += (_fragment_span(f, technique, phrase, digits) for f in fragments)
            taken = {span.technique for span in labelled[index]}
            ranked = np.argsort(-phrase_probabilities[index], kind="stable")
            replacement = next(labels[k] for k in ranked if labels[k] not in taken)
            labelled[index] = [
                replace(span, technique=replacement) if span.technique == technique else span
                for span in labelled[index]
            ]
    return [span for group in labelled for span in group] + added


def _fragment_span(
    fragment: Candidate, technique: str, phrase: Candidate, digits: int | None
) -> Span:
    score = phrase.confidence if digits is None else round(phrase.confidence, digits)
    return Span(fragment.start, fragment.end, technique, score)
