"""Error analysis: the shape of predicted phrases, SI by span length and the FLC gap."""

from __future__ import annotations

from propscan.core.spans import Annotations, Span
from propscan.evaluation.error_analysis import (
    flc_gap,
    phrase_quality,
    si_by_length,
    techniques_found,
    with_gold_techniques,
)

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


def test_a_hyphenated_word_ending_in_a_function_word_is_not_a_dangling_end() -> None:
    text = "the bought-and-paid-for press and"
    whole = Span(text.index("bought"), text.index(" press"), "Loaded_Language")
    dangling = Span(text.index("press"), len(text), "Loaded_Language")
    quality = phrase_quality({"1": text}, Annotations({"1": (whole, dangling)}), Annotations())
    assert quality["ending in a dangling function word"] == 0.5  # "press and", not "paid-for"
    assert quality["cutting a word (predicted / gold)"] == (0, 0)


def test_a_fragment_stopping_before_what_its_last_word_points_at_is_counted() -> None:
    text = "a man who has dodged every question"
    cut = Span(text.index("dodged"), text.index(" question"), "Doubt")
    whole = Span(text.index("dodged"), len(text), "Doubt")
    quality = phrase_quality({"1": text}, Annotations({"1": (cut,)}), Annotations({"1": (whole,)}))
    assert quality["ending on a word that opens a phrase (predicted / gold)"] == (1, 0)


def test_a_fragment_leaving_out_its_sentence_s_first_word_is_counted() -> None:
    text = "It fell. Make no mistake about it"
    cut = Span(text.index("no mistake"), len(text), "Slogans")
    whole = Span(text.index("Make"), len(text), "Slogans")
    quality = phrase_quality({"1": text}, Annotations({"1": (cut,)}), Annotations({"1": (whole,)}))
    assert quality["leaving out its sentence's first word (predicted / gold)"] == (1, 0)


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


def test_gold_techniques_relabel_overlapping_fragments_and_leave_false_positives() -> None:
    predicted = Annotations(
        {
            "1": (
                span("liars and traitors", "Loaded_Language"),  # overlaps both gold spans
                span("all of them", "Doubt"),  # overlaps none
            )
        }
    )
    relabelled = with_gold_techniques(predicted, GOLD)
    assert sorted((s.start, s.end, s.technique) for _, s in relabelled) == sorted(
        [
            (TEXT.index("liars"), TEXT.index(","), "Name_Calling,Labeling"),
            (TEXT.index("all"), TEXT.index("."), "Doubt"),
        ]
    )


def test_flc_gap_separates_span_errors_from_technique_errors() -> None:
    wrong_technique = Annotations(
        {"1": (span("liars", "Loaded_Language"), span("traitors", "Loaded_Language"))}
    )
    gap = flc_gap(wrong_technique, classified_gold=wrong_technique, gold=GOLD)
    assert gap["as predicted"]["f1"] == 0.0
    assert gap["gold techniques on the predicted fragments (perfect TC)"]["f1"] == 1.0
    assert gap["predicted techniques on the gold spans (perfect SI)"]["f1"] == 0.0
    assert all(row["f1"] == 1.0 for row in flc_gap(GOLD, GOLD, GOLD).values())


def test_a_technique_is_found_where_a_span_of_it_overlaps_its_fragment() -> None:
    gold = [Span(0, 10, "Doubt"), Span(20, 30, "Slogans"), Span(40, 50, "Flag-Waving")]
    predicted = [
        Span(5, 12, "Doubt"),  # overlaps: found
        Span(20, 30, "Loaded_Language"),  # the right place, another technique
        Span(50, 60, "Flag-Waving"),  # touches only: no shared character
    ]
    assert techniques_found(gold, predicted) == ["Doubt"]
    assert techniques_found(gold, []) == []


def test_fragments_in_a_web_address_and_cut_initialisms_are_counted() -> None:
    text = "a far more sinister W.H.O. agenda, see www.example.com/?q=fear-mongering-lies"
    cut = Span(text.index("sinister"), text.index(".H.O"), "Loaded_Language")
    link = Span(text.index("fear"), len(text), "Loaded_Language")
    quality = phrase_quality({"1": text}, Annotations({"1": (cut, link)}), Annotations())
    assert quality["cutting a word (predicted / gold)"] == (1, 0)
    assert quality["in a web address (predicted / gold)"] == (1, 0)
