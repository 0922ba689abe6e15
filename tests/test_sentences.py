"""Sentence splitting keeps offsets into the original text and only leaves out whitespace."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from propscan.core.sentences import _SENTENCE_END, sections, split_sentences
from propscan.ptc.splits import Split


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def test_ptc_layout_one_sentence_per_line() -> None:
    text = "Title of the piece\n\nFirst sentence here.\nSecond one, no period\n"
    assert sentences(text) == [
        "Title of the piece",
        "First sentence here.",
        "Second one, no period",
    ]


def test_pasted_paragraph_is_split_after_sentence_punctuation() -> None:
    text = 'It fell. "Why?" she asked! Was it 2019? 2020 came. Done'
    assert sentences(text) == [
        "It fell.",
        '"Why?" she asked!',
        "Was it 2019?",
        "2020 came.",
        "Done",
    ]


def test_no_split_before_lower_case_or_inside_abbreviations() -> None:
    text = (
        "Mr. Smith met Dr. Jones in the U.S. Capitol at 5 p.m. and left. "
        "See No. 5 and Fig. 2 from Jan. 15. He said no. Then John F. Kennedy spoke."
    )
    assert sentences(text) == [
        "Mr. Smith met Dr. Jones in the U.S. Capitol at 5 p.m. and left.",
        "See No. 5 and Fig. 2 from Jan. 15.",
        "He said no.",
        "Then John F. Kennedy spoke.",
    ]


def test_closing_quotes_stay_with_their_sentence() -> None:
    text = "He said “it is over.” Then he left. ‘Fine.’ She agreed."
    assert sentences(text) == ["He said “it is over.”", "Then he left.", "‘Fine.’", "She agreed."]


def test_runs_of_sentence_punctuation() -> None:
    assert sentences("Wow!!! Next?!… Last") == ["Wow!!!", "Next?!…", "Last"]
    assert sentences("!?" * 5000) == ["!?" * 5000]  # no whitespace: one sentence


def test_sentence_ends_are_sought_only_where_a_punctuation_run_starts() -> None:
    """Linear time: a run is scanned once, not again from each of its characters."""
    text = "!" * 50 + " Next"
    assert _SENTENCE_END.match(text, 0).end() == 50
    assert all(_SENTENCE_END.match(text, i) is None for i in range(1, 50))


def test_crlf_emoji_and_unicode_offsets() -> None:
    text = "  Héllo wörld 🎉 done.\r\nÇa va? Oui 👍🏽.\r\n\r\n"
    bounds = split_sentences(text)
    assert [text[s:e] for s, e in bounds] == ["Héllo wörld 🎉 done.", "Ça va?", "Oui 👍🏽."]
    assert bounds[:2] == [(2, 21), (23, 29)]  # code points; "\r\n" is two characters


def test_empty_and_blank_text_have_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t\r\n \u2028") == []


def test_real_ptc_articles_never_join_lines(dev_split: Split) -> None:
    for article in dev_split.articles[:5]:
        bounds = split_sentences(article.text)
        lines = [line for line in article.text.split("\n") if line.strip()]
        assert len(bounds) >= len(lines)
        assert all("\n" not in article.text[start:end] for start, end in bounds)


_ALPHABET = st.sampled_from([*"aZ9 .!?\"'“”()…\n\r\t\u2028\u00a0é🎉", "Mr", "U.S"])


@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_sentences_are_ordered_disjoint_trimmed_and_cover_all_content(text: str) -> None:
    bounds = split_sentences(text)
    previous_end = 0
    covered = set()
    for start, end in bounds:
        assert previous_end <= start < end <= len(text)
        fragment = text[start:end]
        assert fragment.strip() == fragment and fragment
        covered.update(range(start, end))
        previous_end = end
    uncovered = [i for i in range(len(text)) if i not in covered]
    assert all(text[i].isspace() for i in uncovered)


@given(st.lists(_ALPHABET, max_size=80).map("".join), st.integers(1, 30))
def test_sections_cover_the_text_in_order_within_the_limit(text: str, limit: int) -> None:
    bounds = sections(text, limit)
    assert "".join(text[start:end] for start, end in bounds) == text
    assert all(end - start <= limit for start, end in bounds)
    assert all(start < end for start, end in bounds) or text == ""
    assert [start for start, _ in bounds[1:]] == [end for _, end in bounds[:-1]]


def test_sections_are_cut_after_a_line_break_when_one_is_near() -> None:
    text = "first line\nsecond line here\nthird"
    assert sections(text, 20) == [(0, 11), (11, 28), (28, 33)]
    assert sections("one two three four", 9) == [(0, 8), (8, 14), (14, 18)]
    assert sections("abcdefghij", 4) == [(0, 4), (4, 8), (8, 10)]
