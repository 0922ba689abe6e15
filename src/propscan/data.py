"""The core data model: articles, spans and span sets.

Offsets are Python ``[start, end)`` character indices into the original article
text, so ``article.text[span.start:span.end]`` is always the fragment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A fragment of an article, optionally labelled with a technique and a score."""

    start: int
    end: int
    technique: str | None = None
    score: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.start < 0 or self.end <= self.start:
            raise ValueError(f"invalid span offsets {self.start}:{self.end} (need 0 <= start < end)")

    @property
    def length(self) -> int:
        return self.end - self.start

    def fragment(self, text: str) -> str:
        return text[self.start : self.end]

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class Article:
    """A news article; ``title`` and ``source`` (the outlet) are optional metadata."""

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    date: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Annotations:
    """Spans grouped by article id, as one PTC ``.labels`` file holds them.

    Spans of each article are kept sorted so that equality ignores line order.
    """

    spans: Mapping[str, tuple[Span, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "spans", {aid: tuple(sorted(s)) for aid, s in sorted(self.spans.items())}
        )

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, Span]]) -> Annotations:
        grouped: dict[str, list[Span]] = {}
        for article_id, span in pairs:
            grouped.setdefault(article_id, []).append(span)
        return cls({aid: tuple(spans) for aid, spans in grouped.items()})

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
