"""The phrase memory: fragments marked in training articles, found again whole-word."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscan.core.spans import Annotations, Article, Span
from propscan.errors import PropscanError
from propscan.models.phrase_memory import MEMORY_FILE, PhraseMemory, Remembered

FLAG = "Flag-Waving"
NAME = "Name_Calling,Labeling"


def _marked(text: str, fragment: str, technique: str, nth: int = 0) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = text.index(fragment, start + 1)
    return Span(start, start + len(fragment), technique)


def test_a_fragment_is_remembered_with_the_share_of_its_occurrences_marked() -> None:
    first = Article("1", "Defend our southern border now. Our Southern Border is open.")
    second = Article("2", "They crossed our southern border, the crooked elites said.")
    third = Article("3", "Nothing about our southern border here. Elites again.")
    gold = Annotations(
        {
            "1": (_marked(first.text, "our southern border", FLAG),),
            "2": (
                _marked(second.text, "our southern border", FLAG),
                _marked(second.text, "crooked elites", NAME),
                _marked(second.text, "elites", NAME),  # one word: left to the model
            ),
            "3": (),
        }
    )
    memory = PhraseMemory.learn([first, second, third], gold)
    assert memory.phrases == {
        ("our", "southern", "border"): Remembered(FLAG, 0.5),  # 2 of 4 occurrences marked
        ("crooked", "elites"): Remembered(NAME, 1.0),
    }


def test_a_tie_between_techniques_goes_to_the_first_name() -> None:
    article = Article("1", "fake news and fake news")
    gold = Annotations(
        {
            "1": (
                _marked(article.text, "fake news", "Loaded_Language"),
                _marked(article.text, "fake news", NAME, nth=1),
            )
        }
    )
    assert PhraseMemory.learn([article], gold).phrases[("fake", "news")].technique == (
        "Loaded_Language"
    )


def test_occurrences_are_whole_words_in_any_case_across_punctuation() -> None:
    memory = PhraseMemory({("witch", "hunt"): Remembered(NAME, 0.8)})
    text = "A witch-hunt! The WITCH HUNT, witch hunts and switch hunt."
    found = memory.spans(text, 0.5)
    assert [text[s.start : s.end] for s in found] == ["witch-hunt", "WITCH HUNT"]
    assert all(s.technique == NAME and s.score == 0.8 for s in found)
    assert memory.spans(text, 0.9) == []


def test_nested_phrases_are_all_found() -> None:
    memory = PhraseMemory(
        {
            ("rigged", "witch", "hunt"): Remembered(NAME, 0.9),
            ("witch", "hunt"): Remembered(NAME, 0.6),
        }
    )
    text = "this rigged witch hunt"
    assert [text[s.start : s.end] for s in memory.spans(text, 0.0)] == [
        "rigged witch hunt",
        "witch hunt",
    ]


@given(st.text(alphabet="ab .,-’'\n\u00e9\U0001f389", max_size=60))
def test_every_occurrence_indexes_the_text_on_word_edges(text: str) -> None:
    memory = PhraseMemory(
        {("a", "b"): Remembered(NAME, 1.0), ("ab", "a", "é"): Remembered(FLAG, 1.0)}
    )
    for span in memory.spans(text, 0.0):
        fragment = text[span.start : span.end]
        assert fragment[0].isalnum() and fragment[-1].isalnum()
        assert span.start == 0 or not text[span.start - 1].isalnum()
        assert span.end == len(text) or not text[span.end].isalnum()


def test_a_memory_is_saved_and_loaded_with_its_model(tmp_path: Path) -> None:
    memory = PhraseMemory(
        {
            ("our", "southern", "border"): Remembered(FLAG, 0.5),
            ("naïve", "élite"): Remembered(NAME, 1.0),
        }
    )
    memory.save(tmp_path)
    assert PhraseMemory.load(tmp_path) == memory
    assert PhraseMemory.load(tmp_path / "elsewhere") is None
    (tmp_path / MEMORY_FILE).write_text('{"phrases": [{"words": "x"}]}', encoding="utf-8")
    with pytest.raises(PropscanError, match="not a phrase memory"):
        PhraseMemory.load(tmp_path)
