"""The core data model: articles, spans and span sets.

Offsets are Python ``[start, end)`` character indices (code points) into the original
article text, so ``article.text[span.start:span.end]`` is always the fragment. Every
other layer (corpus files, models, scorers, renderers, storage) speaks these types.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import total_ordering
from typing import Any

from propscan.errors import PropscanError


class SpanError(PropscanError, ValueError):
    """Offsets, technique or score that cannot form a span (a ``ValueError`` too)."""


def _offset(value: Any, name: str) -> int:
    """``value`` as a Python int; numpy integers are accepted, floats and bools are not."""
    if isinstance(value, bool):
        raise SpanError(f"span {name} offset must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise SpanError(f"span {name} offset must be an integer, got {value!r}") from None


@total_ordering
@dataclass(frozen=True, slots=True)
class Span:
    """A fragment of an article, optionally labelled with a technique and a score.

    Spans order by position (start, then end, then technique, unlabelled first).
    The score is not part of a span's identity: equal offsets and technique make
    equal spans whatever their scores.
    """

    start: int
    end: int
    technique: str | None = None
    score: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        start, end = _offset(self.start, "start"), _offset(self.end, "end")
        if start < 0 or end <= start:
            raise SpanError(f"invalid span offsets {start}:{end} (need 0 <= start < end)")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        technique = self.technique
        if technique is not None and not (isinstance(technique, str) and technique):
            raise SpanError(f"span technique must be a non-empty label or None, got {technique!r}")
        if self.score is not None:
            try:
                score = float(self.score)
            except (TypeError, ValueError):
                raise SpanError(f"span score must be a number, got {self.score!r}") from None
            if not math.isfinite(score):
                raise SpanError(f"span score must be finite, got {score}")
            object.__setattr__(self, "score", score)

    def _sort_key(self) -> tuple[int, int, bool, str]:
        return (self.start, self.end, self.technique is not None, self.technique or "")

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Span):
            return NotImplemented
        return self._sort_key() < other._sort_key()

    @property
    def length(self) -> int:
        return self.end - self.start

    def fragment(self, text: str) -> str:
        return text[self.start : self.end]

    def overlaps(self, other: Span) -> bool:
        """Whether the two spans share at least one character."""
        return self.start < other.end and other.start < self.end

    def check_within(self, text: str) -> Span:
        """Return the span if it fits inside ``text``, else raise :class:`SpanError`."""
        if self.end > len(text):
            raise SpanError(
                f"span {self.start}:{self.end} ends beyond the text ({len(text)} characters)"
            )
        return self


@dataclass(frozen=True, slots=True)
class Article:
    """A news article; ``title`` and ``source`` (the outlet) are optional metadata.

    ``corpus`` names the labelled corpus of a text read from one other than PTC (the
    memes of :mod:`propscan.ptc.memes`), so that training can tell news from the rest.
    """

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    date: str | None = None
    url: str | None = None
    corpus: str | None = None


@dataclass(frozen=True, eq=False)
class Annotations:
    """Spans grouped by article id, as one PTC ``.labels`` file holds them.

    Spans of each article are kept sorted so that equality ignores line order, and an
    article listed with no spans equals an absent one (a labels file cannot tell them
    apart). ``article_ids`` still lists every article given, spans or not.
    """

    spans: Mapping[str, tuple[Span, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checked: dict[str, tuple[Span, ...]] = {}
        for article_id, spans in sorted(self.spans.items()):
            if not isinstance(article_id, str) or not article_id:
                raise PropscanError(f"article ids must be non-empty strings, got {article_id!r}")
            spans = tuple(spans)
            for span in spans:
                if not isinstance(span, Span):
                    raise PropscanError(f"article {article_id}: expected Span, got {span!r}")
            checked[article_id] = tuple(sorted(spans))
        object.__setattr__(self, "spans", checked)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, Span]]) -> Annotations:
        grouped: dict[str, list[Span]] = {}
        for article_id, span in pairs:
            grouped.setdefault(article_id, []).append(span)
        return cls({aid: tuple(spans) for aid, spans in grouped.items()})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Annotations):
            return NotImplemented
        return self._non_empty() == other._non_empty()

    def _non_empty(self) -> dict[str, tuple[Span, ...]]:
        return {aid: spans for aid, spans in self.spans.items() if spans}

    def __getitem__(self, article_id: str) -> tuple[Span, ...]:
        return self.spans.get(article_id, ())

    def __iter__(self) -> Iterator[tuple[str, Span]]:
        for article_id, spans in self.spans.items():
            for span in spans:
                yield article_id, span

    def __len__(self) -> int:
        return sum(len(spans) for spans in self.spans.values())

    @property
    def article_ids(self) -> list[str]:
        return list(self.spans)

    def restrict(self, article_ids: Iterable[str]) -> Annotations:
        """The annotations of the given articles only."""
        keep = set(article_ids)
        return Annotations({aid: s for aid, s in self.spans.items() if aid in keep})


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Union of spans sharing at least one character (technique and score are dropped)."""
    merged: list[Span] = []
    for span in sorted(spans):
        if merged and span.start < merged[-1].end:
            if span.end > merged[-1].end:
                merged[-1] = Span(merged[-1].start, span.end)
        else:
            merged.append(Span(span.start, span.end))
    return merged


def to_si_annotations(annotations: Annotations) -> Annotations:
    """SI annotations from FLC ones: techniques dropped, spans sharing a character merged."""
    return Annotations(
        {article_id: tuple(merge_spans(spans)) for article_id, spans in annotations.spans.items()}
    )
