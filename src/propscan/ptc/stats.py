"""Corpus statistics: size, techniques, span lengths and overlaps of a split."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from propscan.core.spans import Annotations
from propscan.core.techniques import TECHNIQUES
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
    """Size, technique counts, span lengths and overlaps of one split."""

    split: str
    articles: int
    characters: int
    words: int
    spans: int
    spans_per_technique: dict[str, int]
    span_length: dict[str, int] | None
    overlaps: OverlapCounts

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
        }


def corpus_stats(split: Split) -> CorpusStats:
    """Statistics of a split; words are whitespace-separated, lengths are in characters.

    ``span_length`` maps ``p10`` … ``p90`` and ``max`` to nearest-rank values (``None``
    without spans); ``spans_per_technique`` lists all 14 techniques, zeros included.
    """
    counts = Counter(span.technique for _, span in split.gold)
    lengths = sorted(span.length for _, span in split.gold)
    span_length = None
    if lengths:
        span_length = {f"p{p}": percentile(lengths, p) for p in PERCENTILES}
        span_length["max"] = lengths[-1]
    return CorpusStats(
        split=split.name,
        articles=len(split.articles),
        characters=sum(len(article.text) for article in split.articles),
        words=sum(len(article.text.split()) for article in split.articles),
        spans=len(split.gold),
        spans_per_technique={label: counts.get(label, 0) for label in TECHNIQUES},
        span_length=span_length,
        overlaps=count_overlaps(split.gold),
    )
