"""The one layout engine of the article view: rows, paragraphs, segments, markers, ranking."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from propscan.core.analysis import SentenceScore
from propscan.core.quotes import Quote
from propscan.core.sentences import split_sentences
from propscan.core.spans import Span
from propscan.render.layout import (
    band_text,
    cut,
    display_title,
    fill_and_underline,
    layout,
    paragraph_starts,
    rank_by_confidence,
    row_ranges,
    voice_text,
)


def rows_of(text: str) -> list[tuple[int, int, float | None]]:
    return row_ranges(text, [SentenceScore(s, e, 0.5) for s, e in split_sentences(text)])


def test_blank_lines_start_paragraphs_when_the_text_has_them() -> None:
    text = "Title\n\nOne. Two.\nThree.\n\nFour."
    starts = paragraph_starts(text, rows_of(text))
    assert starts == [False, True, False, False, True]


def test_every_line_starts_a_paragraph_in_a_text_without_blank_lines() -> None:
    text = "First paragraph. Still first.\r\nSecond paragraph.\nThird."
    assert paragraph_starts(text, rows_of(text)) == [False, False, True, True]


def test_markers_go_on_the_last_shown_segment_and_openers_on_the_first() -> None:
    text = "Aa bb cc dd."
    spans = [Span(0, 5, "Doubt", 0.4), Span(3, 8, "Slogans", 0.9)]
    [segments] = cut(spans, [(0, len(text))])
    assert [(text[s.start : s.end], s.span_ids, s.markers, s.openers) for s in segments] == [
        ("Aa ", (0,), (), (1,)),
        ("bb", (0, 1), (1,), (2,)),
        (" cc", (1,), (2,), ()),
        (" dd.", (), (), ()),
    ]


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 10)), max_size=8))
def test_every_span_opens_once_and_closes_once_after_it_opens(raw: list[tuple[int, int]]) -> None:
    spans = sorted(Span(start, start + length, "Doubt", 0.5) for start, length in raw)
    [segments] = cut(spans, [(0, 50)])
    opened = [n for segment in segments for n in segment.openers]
    closed = [n for segment in segments for n in segment.markers]
    assert sorted(opened) == sorted(closed) == list(range(1, len(spans) + 1))
    first = {n: i for i, segment in enumerate(segments) for n in reversed(segment.openers)}
    last = {n: i for i, segment in enumerate(segments) for n in segment.markers}
    assert all(first[n] <= last[n] for n in first)
    for number, span in enumerate(spans, start=1):
        assert segments[first[number]].start == span.start
        assert segments[last[number]].end == span.end


def test_an_overlap_is_filled_by_its_most_confident_span_underlined_by_another_technique() -> None:
    spans = [Span(0, 5, "Doubt", 0.9), Span(0, 5, "Doubt", 0.8), Span(0, 5, "Slogans", 0.5)]
    assert fill_and_underline(spans, [0, 1, 2]) == (0, 2)
    assert fill_and_underline(spans, [0, 1]) == (0, None)  # one technique: no underline


def test_display_title_prefers_the_given_title_and_shortens_long_lines() -> None:
    assert display_title("  Given ", "First line\nsecond") == "Given"
    assert display_title(None, "\n\n  First line  \nsecond") == "First line"
    assert display_title(None, "   ") == "(untitled)"
    long = display_title(None, "word " * 100)
    assert len(long) <= 120 and long.endswith("…")


def test_bands_and_voices_in_words() -> None:
    assert band_text(0.47) == "strong 0.47" and band_text(0.2) == "weak 0.20"
    assert band_text(None) == "weak"
    assert voice_text(None) == "the outlet's own voice" and voice_text(None, short=True) == "own"
    assert voice_text(Quote(0, 9)) == "in a quote (speaker not named)"
    named = Quote(0, 9, "the ministry", 12, 24)
    assert voice_text(named) == "in a quote from the ministry"
    assert voice_text(named, short=True) == "quote: the ministry"


def test_rows_are_the_sentences_with_their_scores() -> None:
    text = "One two. Three four."
    rows = layout(text, [], [SentenceScore(0, 8, 0.2), SentenceScore(9, 20, 0.7)])
    assert [(text[r.start : r.end], r.score) for r in rows] == [
        ("One two.", 0.2),
        ("Three four.", 0.7),
    ]


def test_ranking_puts_the_most_confident_first_and_earlier_spans_first_on_ties() -> None:
    spans = [Span(0, 2, "Doubt", 0.5), Span(0, 2, "Slogans", 0.9), Span(1, 3, "Doubt", 0.5)]
    assert rank_by_confidence(spans, [0, 1, 2]) == [1, 0, 2]
    assert rank_by_confidence(spans, [2, 0]) == [0, 2]
