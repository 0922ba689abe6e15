"""Lay an analysis out for the result page: sentence rows cut into highlight segments.

Offsets stay Python character indices end to end: the server cuts the text, so the
browser never has to map code points to UTF-16 units (emoji cannot shift a highlight).
Overlapping spans become segments that each list every span covering them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

from propscan.data import Span
from propscan.techniques import TECHNIQUES


class _Scored(Protocol):
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of text covered by the same set of spans (indices into the span list)."""

    start: int
    end: int
    span_ids: tuple[int, ...]


@dataclass(frozen=True)
class Row:
    """One sentence (or a stretch of text outside any sentence, ``score`` ``None``)."""

    start: int
    end: int
    score: float | None
    segments: tuple[Segment, ...]
    new_paragraph: bool


def technique_index(label: str | None) -> int | None:
    """Position of ``label`` among the 14 techniques (its colour slot), ``None`` if unknown."""
    return TECHNIQUES.index(label) if label in TECHNIQUES else None


def row_ranges(text: str, sentences: Sequence[_Scored]) -> list[tuple[int, int, float | None]]:
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


def layout(text: str, spans: Sequence[Span], sentences: Sequence[_Scored]) -> tuple[Row, ...]:
    """Rows of the article, each cut wherever a span starts or ends.

    A segment's ``span_ids`` index into ``spans``; the segments of all rows together
    cover every character of every span that lies inside a row.
    """
    ranges = row_ranges(text, sentences)
    opening: dict[int, list[int]] = {}
    closing: dict[int, list[int]] = {}
    for index, span in enumerate(spans):
        opening.setdefault(span.start, []).append(index)
        closing.setdefault(span.end, []).append(index)
    cuts = sorted({*opening, *closing, *(r[0] for r in ranges), *(r[1] for r in ranges)})

    # Sweep the cut points once, keeping the spans that cover the current piece.
    pieces: list[Segment] = []
    active: set[int] = set()
    for position, next_position in pairwise(cuts):
        active.difference_update(closing.get(position, ()))
        active.update(opening.get(position, ()))
        pieces.append(Segment(position, next_position, tuple(sorted(active))))

    rows: list[Row] = []
    piece_index = 0
    previous_end = 0
    for start, end, score in ranges:
        while piece_index < len(pieces) and pieces[piece_index].start < start:
            piece_index += 1
        segments: list[Segment] = []
        while piece_index < len(pieces) and pieces[piece_index].end <= end:
            piece = pieces[piece_index]
            if segments and segments[-1].span_ids == piece.span_ids:
                segments[-1] = Segment(segments[-1].start, piece.end, piece.span_ids)
            else:
                segments.append(piece)
            piece_index += 1
        new_paragraph = bool(rows) and "\n" in text[previous_end:start]
        rows.append(Row(start, end, score, tuple(segments), new_paragraph))
        previous_end = end
    return tuple(rows)


def highlight_classes(span_ids: Sequence[int], spans: Sequence[Span]) -> str:
    """CSS classes of a segment: fill colour of its most confident span, underline of the
    most confident span of another technique, and ``multi`` when spans overlap."""
    if not span_ids:
        return ""
    ranked = sorted(span_ids, key=lambda i: (-(spans[i].score or 0.0), i))
    primary = spans[ranked[0]].technique
    classes = [f"t{slot_of(primary)}"]
    other = next((spans[i].technique for i in ranked if spans[i].technique != primary), None)
    if other is not None:
        classes.append(f"u{slot_of(other)}")
    if len(span_ids) > 1:
        classes.append("multi")
    return " ".join(classes)


def slot_of(label: str | None) -> str:
    """The colour slot of a technique in CSS class names: its index among the 14, else ``x``."""
    index = technique_index(label)
    return "x" if index is None else str(index)
