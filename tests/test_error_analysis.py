"""Error analysis: the shape of predicted phrases and SI by span length."""

from __future__ import annotations

from propscan.core.spans import Annotations, Span
from propscan.evaluation.error_analysis import phrase_quality, si_by_length

TEXT = "They are liars and traitors, all of them. Them!"
TEXTS = {"1": TEXT}


def span(fragment: str, technique: str, nth: int = 0) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(fragment, start + 1)
    return Span(start, start + len(fragment), technique)


GOLD = Annotations(
    {"1": (span("liars", "Name_Calling,Labeling"), span("traitors", "Name_Calling,Labeling"))}
)


def test_phrase_quality_counts_dangling_ends_lone_stop_words_and_repetition() -> None:
    predicted = Annotations(
        {
            "1": (
                span("liars and", "Loaded_Language"),
                span("traitors", "Name_Calling,Labeling"),
                span("traitors", "Repetition"),  # one fragment with two labels
                span("Them", "Repetition"),
            )
        }
    )
    quality = phrase_quality(TEXTS, predicted, GOLD)
    assert quality["predicted fragments"] == 3
    assert quality["ending in a dangling function word"] == round(1 / 3, 4)
    assert quality["lone stop word"] == round(1 / 3, 4)
    assert (quality["Repetition predicted"], quality["Repetition in gold"]) == (2, 0)


def test_si_by_length_splits_recall_and_precision_by_words() -> None:
    predicted = Annotations({"1": (span("liars and traitors", "Loaded_Language"),)})
    table = si_by_length(TEXTS, predicted, GOLD)
    assert table["1 word"] == {
        "gold spans": 2,
        "recall": 1.0,
        "predicted spans": 0,
        "precision": 0.0,
    }
    assert table["2-3"]["predicted spans"] == 1
    assert table["2-3"]["precision"] == round(13 / 18, 4)
