"""Corpus statistics: size, techniques, span lengths and overlaps of a split."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from propscan.core.spans import Annotations
from propscan.core.techniques import MEME_TO_14
from propscan.ptc.splits import Split

#: Version of the JSON written by :meth:`CorpusStats.to_dict` (``propscan corpus stats``).
STATS_SCHEMA_VERSION = 1

PERCENTILES: tuple[int, ...] = (10, 25, 50, 75, 90)


def percentile(sorted_values: Sequence[int], p: float) -> int:
    """Nearest-rank percentile: a value that really occurs (0 < p <= 100, values sorted)."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class OverlapCounts:
    """How spans of one article overlap (share at least one character)."""

    pairs: int
    same_technique_pairs: int
    same_offsets_pairs: int
    spans_overlapping: int


def count_overlaps(annotations: Annotations) -> OverlapCounts:
    """Overlapping span pairs within each article; pairs with equal offsets are included."""
    pairs = same_technique = same_offsets = 0
    overlapping = 0
    for spans in annotations.spans.values():
        involved: set[int] = set()
        for i, span in enumerate(spans):  # sorted by start, so later spans start no earlier
            for j in range(i + 1, len(spans)):
                other = spans[j]
                if other.start >= span.end:
                    break
                pairs += 1
                same_technique += span.technique == other.technique
                same_offsets += (span.start, span.end) == (other.start, other.end)
                involved.update((i, j))
        overlapping += len(involved)
    return OverlapCounts(pairs, same_technique, same_offsets, overlapping)


@dataclass(frozen=True)
class CorpusStats:
    """Size, technique counts, span lengths and overlaps of one split.

    For a corpus mapped onto the 14 (the memes), ``spans_outside_14`` counts the spans of
    techniques PTC lacks that were dropped or kept without a technique (those are in
    ``spans``), and ``spans_per_original_technique`` counts spans by the corpus's own
    names; both are ``None`` for PTC.
    """

    split: str
    articles: int
    characters: int
    words: int
    spans: int
    spans_per_technique: dict[str, int]
    span_length: dict[str, int] | None
    overlaps: OverlapCounts
    spans_outside_14: dict[str, int] | None = None
    spans_per_original_technique: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "articles": self.articles,
            "characters": self.characters,
            "words": self.words,
            "spans": self.spans,
            "spans_per_technique": dict(self.spans_per_technique),
            "span_length": dict(self.span_length) if self.span_length is not None else None,
            "overlaps": {
                "pairs": self.overlaps.pairs,
                "same_technique_pairs": self.overlaps.same_technique_pairs,
                "same_offsets_pairs": self.overlaps.same_offsets_pairs,
                "spans_overlapping": self.overlaps.spans_overlapping,
            },
            "spans_outside_14": _copy(self.spans_outside_14),
            "spans_per_original_technique": _copy(self.spans_per_original_technique),
        }


def _copy(counts: dict[str, int] | None) -> dict[str, int] | None:
    return dict(counts) if counts is not None else None


def _original_counts(split: Split) -> tuple[dict[str, int], dict[str, int]] | None:
    """Spans outside the 14 (dropped, unlabelled) and spans per original technique."""
    if split.original is None:
        return None
    counts = Counter(str(span.technique) for _, span in split.original)
    outside = sum(n for name, n in counts.items() if MEME_TO_14.get(name) is None)
    unlabelled = sum(span.technique is None for _, span in split.gold)
    return (
        {"dropped": outside - unlabelled, "unlabelled": unlabelled},
        {name: counts.get(name, 0) for name in MEME_TO_14},
    )


def corpus_stats(split: Split) -> CorpusStats:
    """Statistics of a split; words are whitespace-separated, lengths are in characters.

    ``span_length`` maps ``p10`` … ``p90`` and ``max`` to nearest-rank values (``None``
    without spans); ``spans_per_technique`` lists every technique of the corpus's set, zeros
    included (and
    ``spans_per_original_technique`` all 20 of the memes).
    """
    counts = Counter(span.technique for _, span in split.gold)
    lengths = sorted(span.length for _, span in split.gold)
    span_length = None
    if lengths:
        span_length = {f"p{p}": percentile(lengths, p) for p in PERCENTILES}
        span_length["max"] = lengths[-1]
    outside, original = _original_counts(split) or (None, None)
    return CorpusStats(
        split=split.name,
        articles=len(split.articles),
        characters=sum(len(article.text) for article in split.articles),
        words=sum(len(article.text.split()) for article in split.articles),
        spans=len(split.gold),
        spans_per_technique={label: counts.get(label, 0) for label in split.techniques},
        span_length=span_length,
        overlaps=count_overlaps(split.gold),
        spans_outside_14=outside,
        spans_per_original_technique=original,
    )
