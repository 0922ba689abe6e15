"""The data model: span validation and ordering, annotation equality, offset properties."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscan.core.spans import Annotations, Span, SpanError, merge_spans
from propscan.errors import PropscanError


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        (-1, 3, "need 0 <= start < end"),
        (3, 3, "need 0 <= start < end"),
        (5, 2, "need 0 <= start < end"),
        (1.0, 3, "must be an integer"),
        (0, "3", "must be an integer"),
        (True, 3, "must be an integer"),
    ],
)
def test_span_rejects_bad_offsets(start: object, end: object, problem: str) -> None:
    with pytest.raises(SpanError, match=problem):
        Span(start, end)  # type: ignore[arg-type]


def test_span_error_is_both_a_user_error_and_a_value_error() -> None:
    with pytest.raises(PropscanError):
        Span(2, 1)
    with pytest.raises(ValueError):
        Span(2, 1)


@pytest.mark.parametrize("technique", ["", 3])
def test_span_rejects_bad_technique(technique: object) -> None:
    with pytest.raises(SpanError, match="technique"):
        Span(0, 1, technique)  # type: ignore[arg-type]


@pytest.mark.parametrize("score", [math.nan, math.inf, "high"])
def test_span_rejects_bad_score(score: object) -> None:
    with pytest.raises(SpanError, match="score"):
        Span(0, 1, "Doubt", score)  # type: ignore[arg-type]


def test_numpy_values_become_python_numbers() -> None:
    span = Span(np.int64(2), np.int32(5), "Doubt", np.float32(0.25))  # type: ignore[arg-type]
    assert (span.start, span.end, span.score) == (2, 5, 0.25)
    assert type(span.start) is int and type(span.end) is int and type(span.score) is float


def test_spans_order_by_position_then_technique_with_unlabelled_first() -> None:
    spans = [
        Span(4, 9, "Slogans"),
        Span(0, 3, "Doubt"),
        Span(4, 9),
        Span(4, 6, "Repetition"),
        Span(4, 9, "Flag-Waving"),
    ]
    assert sorted(spans) == [
        Span(0, 3, "Doubt"),
        Span(4, 6, "Repetition"),
        Span(4, 9),
        Span(4, 9, "Flag-Waving"),
        Span(4, 9, "Slogans"),
    ]
    assert Span(4, 9) < Span(4, 9, "Doubt") <= Span(4, 9, "Doubt") < Span(5, 6)


def test_score_is_not_part_of_span_identity() -> None:
    assert Span(1, 4, "Doubt", 0.2) == Span(1, 4, "Doubt", 0.9)
    assert len({Span(1, 4, "Doubt", 0.2), Span(1, 4, "Doubt", 0.9)}) == 1
    assert Span(1, 4, "Doubt") != Span(1, 4, "Slogans")


def test_span_helpers() -> None:
    text = "We must act now."
    span = Span(3, 11, "Slogans")
    assert span.length == 8
    assert span.fragment(text) == "must act"
    assert span.check_within(text) is span
    assert span.overlaps(Span(10, 12)) and not span.overlaps(Span(11, 12))
    with pytest.raises(SpanError, match="beyond the text"):
        Span(3, 40).check_within(text)


def test_annotations_equality_ignores_order_and_empty_articles() -> None:
    first = Annotations.from_pairs(
        [("1", Span(5, 9, "Doubt")), ("2", Span(0, 2)), ("1", Span(0, 3, "Slogans"))]
    )
    second = Annotations({"2": (Span(0, 2),), "1": [Span(0, 3, "Slogans"), Span(5, 9, "Doubt")]})
    assert first == second
    assert first == Annotations({**second.spans, "3": ()})
    assert first != Annotations({"1": (Span(0, 3, "Slogans"),), "2": (Span(0, 2),)})
    assert second.article_ids == ["1", "2"]
    assert first["1"] == (Span(0, 3, "Slogans"), Span(5, 9, "Doubt"))
    assert first["missing"] == ()


def test_annotations_iterate_count_and_restrict() -> None:
    annotations = Annotations({"b": (Span(1, 2),), "a": (Span(3, 4), Span(0, 1)), "c": ()})
    assert list(annotations) == [("a", Span(0, 1)), ("a", Span(3, 4)), ("b", Span(1, 2))]
    assert len(annotations) == 3
    assert annotations.article_ids == ["a", "b", "c"]
    assert annotations.restrict(["b", "c", "zzz"]).article_ids == ["b", "c"]


def test_annotations_reject_what_is_not_a_span() -> None:
    with pytest.raises(PropscanError, match="expected Span"):
        Annotations({"1": ((0, 3),)})  # type: ignore[dict-item]
    with pytest.raises(PropscanError, match="non-empty strings"):
        Annotations({"": (Span(0, 1),)})


@st.composite
def text_and_spans(draw: st.DrawFn) -> tuple[str, list[Span]]:
    """A text with emoji and accents, and spans inside it."""
    text = draw(st.text(alphabet="ab é😀\n\r\t", min_size=1, max_size=60))
    bounds = st.tuples(st.integers(0, len(text) - 1), st.integers(1, len(text))).filter(
        lambda pair: pair[0] < pair[1]
    )
    pairs = draw(st.lists(bounds, max_size=12))
    return text, [Span(start, end) for start, end in pairs]


@given(text_and_spans())
def test_slicing_gives_a_fragment_of_the_span_length(case: tuple[str, list[Span]]) -> None:
    text, spans = case
    for span in spans:
        fragment = span.fragment(text)
        assert len(fragment) == span.length
        assert text[: span.start] + fragment + text[span.end :] == text


def _characters(spans: list[Span]) -> set[int]:
    return {offset for span in spans for offset in range(span.start, span.end)}


@given(text_and_spans())
def test_merge_spans_keeps_the_characters_and_makes_disjoint_sorted_spans(
    case: tuple[str, list[Span]],
) -> None:
    _, spans = case
    merged = merge_spans(spans)
    assert _characters(merged) == _characters(spans)
    assert all(before.end <= after.start for before, after in pairwise(merged))
    assert all(span.technique is None for span in merged)
    assert merge_spans(merged) == merged
