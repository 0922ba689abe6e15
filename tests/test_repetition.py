"""Repetition counts: whole content words, stop words ignored, one index per article."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from propscan.models.repetition import MAX_MATCHED_WORDS, RepetitionIndex


def occurrences(text: str, fragment: str, nth: int = 0) -> int:
    start = -1
    for _ in range(nth + 1):
        start = text.index(fragment, start + 1)
    return RepetitionIndex.of(text).occurrences(start, start + len(fragment))


def test_counts_whole_words_only() -> None:
    text = "The pro side provides pro arguments. Pro!"
    assert occurrences(text, "pro") == 2 + 1  # "pro", "pro", "Pro"; never inside "provides"


def test_stop_words_and_case_are_ignored() -> None:
    text = "Make America great again! They will make America GREAT again, and the America."
    assert occurrences(text, "Make America great again") == 2
    assert occurrences(text, "the America") == 3  # "the" is ignored: "America" recurs
    assert RepetitionIndex.of(text).repeats(0, 4) == 1  # "Make"


def test_a_fragment_of_stop_words_never_repeats() -> None:
    text = "and the and the and the"
    assert RepetitionIndex.of(text).occurrences(0, 7) == 0


def test_long_fragments_match_on_their_first_words() -> None:
    words = " ".join(f"w{i}" for i in range(MAX_MATCHED_WORDS + 5))
    text = f"{words}. {words}."
    assert RepetitionIndex.of(text).repeats(0, len(words)) == 1


@given(
    st.lists(st.sampled_from(["war", "peace", "the", "and", "enemy", "traitors"]), max_size=40),
    st.integers(0, 39),
    st.integers(1, 6),
)
def test_counts_equal_a_brute_force_count(words: list[str], first: int, length: int) -> None:
    text = " ".join(words)
    index = RepetitionIndex.of(text)
    starts = [sum(len(w) + 1 for w in words[:i]) for i in range(len(words))]
    if first >= len(words):
        return
    last = min(first + length, len(words))
    start, end = starts[first], starts[last - 1] + len(words[last - 1])
    content = [w for w in words if w not in ("the", "and")]
    key = [w for w in words[first:last] if w not in ("the", "and")]
    expected = (
        0
        if not key
        else sum(content[i : i + len(key)] == key for i in range(len(content) - len(key) + 1))
    )
    assert index.occurrences(start, end) == expected


def test_a_shifted_index_answers_for_a_section_but_counts_the_whole_article() -> None:
    text = "Traitors everywhere.\nThe traitors lie.\nWe fight traitors."
    index = RepetitionIndex.of(text)
    section_start = text.index("The traitors")
    section = text[section_start:]
    word = section.index("traitors")
    assert index.shifted(section_start).repeats(word, word + len("traitors")) == 2
    assert RepetitionIndex.of(section).repeats(word, word + len("traitors")) == 1
