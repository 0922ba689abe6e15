"""Lay an article out for display: rows of text cut into segments at span boundaries.

One engine serves every view of an analysis -- the terminal, the HTML report and the
service's result page -- so they all cut rows, mark paragraphs, number spans and rank
overlapping spans by the same rules. Offsets stay Python character indices end to end:
the server cuts the text, so a browser never has to map code points to UTF-16 units
(emoji cannot shift a highlight). Overlapping spans become segments that each list every
span covering them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

from propscan.core.confidence import band_of
from propscan.core.quotes import Quote
from propscan.core.spans import Span
from propscan.core.speakers import is_pronoun
from propscan.core.techniques import TechniqueSet

UNLABELLED_COLOUR = "#DDDDDD"
#: Characters of a title shown at most (lists and headings).
TITLE_CHARS = 120


class Scored(Protocol):
    """A sentence (or anything) with offsets and a score, e.g. :class:`SentenceScore`."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def score(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of text covered by the same spans (``span_ids`` index the span list).

    ``markers`` are the 1-based numbers of the spans whose last shown piece this is,
    where a view puts a span's closing reference number; ``openers`` those whose first
    shown piece this is, where a plain-text view marks a span's start.
    """

    start: int
    end: int
    span_ids: tuple[int, ...]
    markers: tuple[int, ...] = ()
    openers: tuple[int, ...] = ()


@dataclass(frozen=True)
class Row:
    """One sentence (or a stretch of text outside any sentence, ``score`` ``None``)."""

    start: int
    end: int
    score: float | None
    segments: tuple[Segment, ...]
    new_paragraph: bool


@dataclass(frozen=True, slots=True)
class TechniqueStyle:
    """How one technique is shown: its human name, colour and one-line definition."""

    label: str
    name: str
    colour: str
    definition: str


def technique_style(label: str | None, techniques: TechniqueSet) -> TechniqueStyle:
    """Name, colour and definition of ``label``, one of ``techniques`` (the model's set), or a
    neutral style for unlabelled spans."""
    if label is None:
        return TechniqueStyle(
            "?", "Unlabelled", UNLABELLED_COLOUR, "A span whose technique is unknown."
        )
    technique = techniques.describe(label)
    return TechniqueStyle(label, technique.name, technique.colour, technique.definition)


def technique_index(label: str | None, techniques: TechniqueSet) -> int | None:
    """Position of ``label`` in the model's technique set (its colour slot), ``None`` if
    it has none."""
    return techniques.index(label) if label is not None and label in techniques else None


def rank_by_confidence(spans: Sequence[Span], span_ids: Sequence[int]) -> list[int]:
    """``span_ids`` from the most to the least confident span (earlier spans first on ties)."""
    return sorted(span_ids, key=lambda index: (-(spans[index].score or 0.0), index))


def fill_and_underline(spans: Sequence[Span], span_ids: Sequence[int]) -> tuple[int, int | None]:
    """Which spans colour a piece covered by ``span_ids``: the most confident one fills it,
    and the most confident span of another technique underlines it, so that both
    techniques of an overlap show (``None``: the spans share one technique)."""
    ranked = rank_by_confidence(spans, span_ids)
    primary = spans[ranked[0]].technique
    other = next((index for index in ranked if spans[index].technique != primary), None)
    return ranked[0], other


#: Characters a title never shows (a NUL, an escape): a title line shows only text.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff]")


def display_title(title: str | None, text: str) -> str:
    """The one title rule of every view: the given title, else the first non-empty line of
    the text, without control characters, shortened to :data:`TITLE_CHARS` characters."""
    candidate = _CONTROLS.sub("", title or "").strip()
    if not candidate:
        lines = (_CONTROLS.sub("", line).strip() for line in text.splitlines())
        candidate = next((line for line in lines if line), "")
    if len(candidate) > TITLE_CHARS:
        candidate = candidate[: TITLE_CHARS - 1].rstrip() + "…"
    return candidate or "(untitled)"


def score_text(score: float) -> str:
    """A score with two decimals, cut rather than rounded so that it never reads as the
    next band's (0.449 is ``0.44``, as its band, moderate, says)."""
    return f"{math.floor(score * 100 + 1e-9) / 100:.2f}"


def band_text(score: float | None) -> str:
    """A span's confidence as a reader reads it: its band, then its score (``strong 0.47``)."""
    band = band_of(score).name
    return band if score is None else f"{band} {score_text(score)}"


def voice_text(quote: Quote | None, short: bool = False) -> str:
    """Whose voice a span is in: the outlet's own, or a quotation and, where named, whose
    (``short``: for a table column)."""
    if quote is None:
        return "own" if short else "the outlet's own voice"
    if quote.speaker is None or is_pronoun(quote.speaker):  # "he" whom the text never names
        return "quote" if short else "in a quote (speaker not named)"
    return f"quote: {quote.speaker}" if short else f"in a quote from {quote.speaker}"


def display_text(text: str) -> str:
    """Text for display: line breaks of any convention become ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def row_ranges(text: str, sentences: Sequence[Scored]) -> list[tuple[int, int, float | None]]:
    """Sentence ranges in order, plus any non-blank text between them as unscored rows."""
    ranges: list[tuple[int, int, float | None]] = []
    cursor = 0

    def add_gap(gap_start: int, gap_end: int) -> None:
        gap = text[gap_start:gap_end]
        if gap.strip():
            left = gap_start + len(gap) - len(gap.lstrip())
            right = gap_end - (len(gap) - len(gap.rstrip()))
            ranges.append((left, right, None))

    for sentence in sorted(sentences, key=lambda s: (s.start, s.end)):
        start, end = max(sentence.start, cursor), min(sentence.end, len(text))
        if start >= end:
            continue
        add_gap(cursor, start)
        ranges.append((start, end, float(sentence.score)))
        cursor = end
    add_gap(cursor, len(text))
    return ranges


def paragraph_starts(text: str, ranges: Sequence[tuple[int, int, object]]) -> list[bool]:
    """Whether each row starts a paragraph.

    A text that separates paragraphs with blank lines (PTC articles: one sentence per
    line) starts one after a blank line; a text without blank lines (extracted web
    pages: one paragraph per line) starts one at every line break.
    """
    breaks = [0] + [
        display_text(text[previous[1] : current[0]]).count("\n")
        for previous, current in pairwise(ranges)
    ]
    needed = 2 if any(count >= 2 for count in breaks) else 1
    return [index > 0 and count >= needed for index, count in enumerate(breaks)]


def cut(spans: Sequence[Span], ranges: Sequence[tuple[int, int]]) -> list[list[Segment]]:
    """Cut each of the sorted, disjoint ``ranges`` of text into segments at span boundaries.

    Text outside ``ranges`` is not shown, so a span's marker goes on its last shown segment.
    """
    starting: dict[int, list[int]] = {}
    ending: dict[int, list[int]] = {}
    for index, span in enumerate(spans):
        starting.setdefault(span.start, []).append(index)
        ending.setdefault(span.end, []).append(index)
    points = sorted({*starting, *ending, *(bound for bounds in ranges for bound in bounds)})
    rows: list[list[tuple[int, int, tuple[int, ...]]]] = [[] for _ in ranges]
    first_piece: dict[int, tuple[int, int]] = {}
    last_piece: dict[int, tuple[int, int]] = {}
    active: set[int] = set()
    row = 0
    for start, end in pairwise(points):
        active.difference_update(ending.get(start, ()))
        active.update(starting.get(start, ()))
        while row < len(ranges) and ranges[row][1] <= start:
            row += 1
        if row == len(ranges):
            break
        if ranges[row][0] <= start:
            covering = tuple(sorted(active))
            rows[row].append((start, end, covering))
            for index in covering:
                first_piece.setdefault(index, (row, len(rows[row]) - 1))
                last_piece[index] = (row, len(rows[row]) - 1)
    markers, openers = _numbers_by_place(last_piece), _numbers_by_place(first_piece)
    return [
        [
            Segment(
                start,
                end,
                covering,
                markers.get((number, position), ()),
                openers.get((number, position), ()),
            )
            for position, (start, end, covering) in enumerate(pieces)
        ]
        for number, pieces in enumerate(rows)
    ]


def _numbers_by_place(places: dict[int, tuple[int, int]]) -> dict[tuple[int, int], tuple[int, ...]]:
    """The 1-based span numbers at each (row, piece) place, in order."""
    found: dict[tuple[int, int], list[int]] = {}
    for index, place in sorted(places.items()):
        found.setdefault(place, []).append(index + 1)
    return {place: tuple(numbers) for place, numbers in found.items()}


def layout(text: str, spans: Sequence[Span], sentences: Sequence[Scored]) -> tuple[Row, ...]:
    """Rows of the article (its sentences), each cut wherever a span starts or ends.

    A segment's ``span_ids`` index into ``spans``; the segments of all rows together
    cover every character of every span that lies inside a row.
    """
    ranges = row_ranges(text, sentences)
    pieces = cut(spans, [(start, end) for start, end, _ in ranges])
    paragraphs = paragraph_starts(text, ranges)
    return tuple(
        Row(start, end, score, tuple(segments), paragraph)
        for (start, end, score), segments, paragraph in zip(ranges, pieces, paragraphs, strict=True)
    )
