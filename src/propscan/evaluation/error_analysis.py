"""Where a model's spans go wrong: phrase shape, span length and technique.

Complements the headline scores: what share of highlights end in a dangling function
word or are a lone stop word, how often Repetition is predicted against gold, and SI
precision and recall by span length, so that a gap can be traced to its source; how
FLC would score with either half of the task done perfectly; and which techniques of an
annotated article a reader would see named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache, partial
from typing import Any

from propscan.core.sentences import split_sentence_starts
from propscan.core.spans import Annotations, Span, merge_spans
from propscan.core.techniques import REPETITION
from propscan.models.repetition import STOP_WORDS
from propscan.models.span_edges import (
    balance_quotes,
    complete_phrase_end,
    complete_phrase_start,
    drop_dangling_end,
    extend_to_words,
    is_lone_identity_word,
    outside_web_addresses,
)
from propscan.ptc.scoring import score_flc

_WORD = re.compile(r"\w+")

#: Span lengths in words, as (label, fewest, most).
LENGTH_BUCKETS = (
    ("1 word", 1, 1),
    ("2-3", 2, 3),
    ("4-6", 4, 6),
    ("7-12", 7, 12),
    ("13+", 13, 10**9),
)


def _words(text: str, span: Span) -> list[str]:
    return _WORD.findall(text[span.start : span.end].lower())


def phrase_quality(
    texts: Mapping[str, str], predicted: Annotations, gold: Annotations
) -> dict[str, Any]:
    """Shares of predicted fragments that end in a function word (as decoding's own rule
    finds one) or are one stop word;
    counts of fragments (predicted, and gold beside them) that cut a word, leave a
    quotation mark unmatched at an edge, end on a word that opens a phrase ("every",
    "our", "the"), start on a sentence's second word leaving out a first that phrase
    completion would take in ("no mistake"), are a lone identity word or hold part of a
    web address."""
    fragments = {(article_id, s.start, s.end) for article_id, s in predicted}
    dangling = lone = 0
    for article_id, start, end in fragments:
        words = _words(texts[article_id], Span(start, end))
        dangling += drop_dangling_end(texts[article_id], start, end) != (start, end)
        lone += len(words) <= 1 and (not words or words[0] in STOP_WORDS)
    count = max(len(fragments), 1)
    gold_fragments = {(article_id, s.start, s.end) for article_id, s in gold}
    return {
        "predicted fragments": len(fragments),
        "ending in a dangling function word": round(dangling / count, 4),
        "lone stop word": round(lone / count, 4),
        **{
            f"{name} (predicted / gold)": (
                sum(test(texts[a], s, e) for a, s, e in sorted(fragments)),
                sum(test(texts[a], s, e) for a, s, e in sorted(gold_fragments)),
            )
            for name, test in _SHAPE_PROBLEMS.items()
        },
        f"{REPETITION} predicted": sum(s.technique == REPETITION for _, s in predicted),
        f"{REPETITION} in gold": sum(s.technique == REPETITION for _, s in gold),
        "mean predicted characters": round(
            sum(end - start for _, start, end in fragments) / count, 1
        ),
        "mean gold characters": round(sum(s.length for _, s in gold) / max(len(gold), 1), 1),
    }


def _cuts_a_word(text: str, start: int, end: int) -> bool:
    return extend_to_words(text, start, end, joined=True) != (start, end)


def _unmatched_quote(text: str, start: int, end: int) -> bool:
    return balance_quotes(text, start, end) != (start, end)


def _in_web_address(text: str, start: int, end: int) -> bool:
    return outside_web_addresses(text, start, end) != [(start, end)]


def _phrase_left_open(text: str, start: int, end: int) -> bool:
    return complete_phrase_end(text, start, end) != (start, end)


def _sentence_start_left_out(text: str, start: int, end: int) -> bool:
    """Neighbours are ignored: a fragment whose sentence's first word another one holds
    counts too."""
    starts = partial(_sentence_starts, text)
    return complete_phrase_start(text, start, end, starts) != (start, end)


#: Fragments come sorted by article, so each article is split once.
_sentence_starts = lru_cache(maxsize=1)(split_sentence_starts)


#: Fragment shapes a reader takes for a faulty mark.
_SHAPE_PROBLEMS = {
    "cutting a word": _cuts_a_word,
    "with an unmatched quotation mark at an edge": _unmatched_quote,
    "ending on a word that opens a phrase": _phrase_left_open,
    "leaving out its sentence's first word": _sentence_start_left_out,
    "a lone identity word": is_lone_identity_word,
    "in a web address": _in_web_address,
}


def _bucket(n_words: int) -> str:
    return next(label for label, low, high in LENGTH_BUCKETS if low <= max(n_words, 1) <= high)


def si_by_length(
    texts: Mapping[str, str], predicted: Annotations, gold: Annotations
) -> dict[str, dict[str, float]]:
    """SI recall of gold spans and precision of predicted spans, by length in words."""
    recall: dict[str, list[float]] = {label: [] for label, _, _ in LENGTH_BUCKETS}
    precision: dict[str, list[float]] = {label: [] for label, _, _ in LENGTH_BUCKETS}
    for article_id in sorted(set(gold.article_ids) | set(predicted.article_ids)):
        text = texts[article_id]
        gold_spans = merge_spans(gold[article_id])
        predicted_spans = merge_spans(predicted[article_id])
        for span in gold_spans:
            covered = sum(
                max(0, min(span.end, p.end) - max(span.start, p.start)) for p in predicted_spans
            )
            recall[_bucket(len(_words(text, span)))].append(covered / span.length)
        for span in predicted_spans:
            inside = sum(
                max(0, min(span.end, g.end) - max(span.start, g.start)) for g in gold_spans
            )
            precision[_bucket(len(_words(text, span)))].append(inside / span.length)
    return {
        label: {
            "gold spans": len(recall[label]),
            "recall": round(sum(recall[label]) / len(recall[label]), 4) if recall[label] else 0.0,
            "predicted spans": len(precision[label]),
            "precision": (
                round(sum(precision[label]) / len(precision[label]), 4) if precision[label] else 0.0
            ),
        }
        for label, _, _ in LENGTH_BUCKETS
    }


def with_gold_techniques(predicted: Annotations, gold: Annotations) -> Annotations:
    """The predicted fragments labelled as if technique classification were perfect.

    Each fragment takes every technique of the gold spans it overlaps (once each); one
    overlapping no gold span keeps its own techniques, as it is a false positive anyway.
    """
    pairs: list[tuple[str, Span]] = []
    for article_id in predicted.article_ids:
        fragments: dict[tuple[int, int], set[str | None]] = {}
        for span in predicted[article_id]:
            fragments.setdefault((span.start, span.end), set()).add(span.technique)
        for (start, end), own in fragments.items():
            fragment = Span(start, end)
            overlapping = {g.technique for g in gold[article_id] if g.overlaps(fragment)}
            pairs.extend(
                (article_id, Span(start, end, technique))
                for technique in sorted(overlapping or own, key=str)
            )
    return Annotations.from_pairs(pairs)


def flc_gap(
    predicted: Annotations, classified_gold: Annotations, gold: Annotations
) -> dict[str, dict[str, float]]:
    """FLC as predicted, with perfect techniques on the predicted fragments, and with the
    model's techniques on the gold spans (perfect span finding): which half the FLC gap
    comes from."""
    rows = {
        "as predicted": score_flc(gold, predicted),
        "gold techniques on the predicted fragments (perfect TC)": score_flc(
            gold, with_gold_techniques(predicted, gold)
        ),
        "predicted techniques on the gold spans (perfect SI)": score_flc(gold, classified_gold),
    }
    return {
        name: {
            "precision": round(scores.precision, 4),
            "recall": round(scores.recall, 4),
            "f1": round(scores.f1, 4),
        }
        for name, scores in rows.items()
    }


def techniques_found(gold: Iterable[Span], predicted: Iterable[Span]) -> list[str]:
    """The gold techniques that some predicted span of the same technique overlaps: what a
    reader sees named where the article uses it (sorted)."""
    predicted = list(predicted)
    return sorted(
        {
            str(g.technique)
            for g in gold
            if any(p.technique == g.technique and p.overlaps(g) for p in predicted)
        }
    )
