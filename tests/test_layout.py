"""The one layout engine of the article view: rows, paragraphs, segments, markers, ranking."""

from __future__ import annotations

from propscan.core.analysis import SentenceScore
from propscan.core.sentences import split_sentences
from propscan.core.spans import Span
from propscan.render.layout import cut, layout, paragraph_starts, rank_by_confidence, row_ranges


def rows_of(text: str) -> list[tuple[int, int, float | None]]:
    return row_ranges(text, [SentenceScore(s, e, 0.5) for s, e in split_sentences(text)])


def test_blank_lines_start_paragraphs_when_the_text_has_them() -> None:
    text = "Title\n\nOne. Two.\nThree.\n\nFour."
    starts = paragraph_starts(text, rows_of(text))
    assert starts == [False, True, False, False, True]


def test_every_line_starts_a_paragraph_in_a_text_without_blank_lines() -> None:
    text = "First paragraph. Still first.\r\nSecond paragraph.\nThird."
    assert paragraph_starts(text, rows_of(text)) == [False, False, True, True]


def test_markers_go_on_the_last_shown_segment_of_each_span() -> None:
    text = "Aa bb cc dd."
    spans = [Span(0, 5, "Doubt", 0.4), Span(3, 8, "Slogans", 0.9)]
    [segments] = cut(spans, [(0, len(text))])
    assert [(text[s.start : s.end], s.span_ids, s.markers) for s in segments] == [
        ("Aa ", (0,), ()),
        ("bb", (0, 1), (1,)),
        (" cc", (1,), (2,)),
        (" dd.", (), ()),
    ]


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
