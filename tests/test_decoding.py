"""The one decoder of every model: runs, edges, labels and settings, each rule on its own."""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscan.core.spans import Span
from propscan.errors import PropscanError
from propscan.models.decoding import (
    Calibration,
    Candidate,
    DecodingSettings,
    bridged_runs,
    current_setting_names,
    decode_subword_spans,
    drop_dangling_end,
    extend_to_words,
    fragments_within,
    label_top_two,
    merge_runs,
    resolve_threshold,
    runs_above,
    trim_span,
)


def test_trim_span_strips_whitespace_and_ptc_edge_punctuation() -> None:
    text = ' ;, "Lies!" .\n'
    assert trim_span(text, 0, len(text)) == (4, 11)
    assert text[4:11] == '"Lies!"'
    assert trim_span(text, 0, 3) is None  # nothing but punctuation and spaces


def test_extend_to_words_never_cuts_a_word() -> None:
    text = "The traitorous élite, again."
    assert text[slice(*extend_to_words(text, 6, 9))] == "traitorous"
    assert text[slice(*extend_to_words(text, 15, 17))] == "élite"
    assert extend_to_words(text, 4, 14) == (4, 14)


@given(st.lists(st.floats(0, 1), max_size=30), st.floats(0, 1))
def test_runs_above_are_the_maximal_runs_at_or_above_the_threshold(
    probabilities: list[float], threshold: float
) -> None:
    runs = runs_above(np.array(probabilities), threshold)
    inside = [False] * len(probabilities)
    for first, last in runs:
        assert first < last
        assert first == 0 or probabilities[first - 1] < threshold
        assert last == len(probabilities) or probabilities[last] < threshold
        inside[first:last] = [True] * (last - first)
    assert inside == [p >= threshold for p in probabilities]


def test_bridged_runs_bridge_a_few_words_and_stop_at_line_breaks() -> None:
    text = "a b c d e f g h\ni j"
    offsets = np.array([(i, i + 1) for i in range(0, len(text), 2)])
    is_word = [True] * len(offsets)
    probabilities = np.array([0.9, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9])
    assert bridged_runs(text, offsets, is_word, probabilities, 0.5) == [(0, 3), (7, 8), (8, 10)]


def test_subword_spans_are_trimmed_grown_to_words_and_given_once() -> None:
    text = "They are trai tors, liars."
    # word pieces: "They" "are" "tra" "i" "tors" "," "liars" "."
    offsets = np.array([(0, 4), (5, 8), (9, 12), (12, 13), (14, 18), (18, 19), (20, 25), (25, 26)])
    probabilities = np.array([0.1, 0.1, 0.9, 0.2, 0.9, 0.9, 0.8, 0.9])
    found = decode_subword_spans(text, offsets, probabilities, 0.5)
    assert [text[c.start : c.end] for c in found] == ["trai", "tors, liars"]
    assert found[1].confidence == pytest.approx(np.mean([0.9, 0.9, 0.8, 0.9]))
    # Two runs inside one word grow into the same span, which is kept once.
    word = "disgraceful"
    pieces = np.array([(0, 3), (3, 6), (6, 11)])
    assert len(decode_subword_spans(word, pieces, np.array([0.9, 0.1, 0.9]), 0.5)) == 1


def test_label_top_two_adds_the_second_technique_only_above_its_threshold() -> None:
    labels = ("Doubt", "Slogans", "Repetition")
    found = [Candidate(0, 4, 0.5), Candidate(5, 9, 1.0)]
    probabilities = np.array([[0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])
    spans = label_top_two(found, probabilities, labels, 0.25)
    assert spans == [Span(0, 4, "Doubt"), Span(0, 4, "Slogans"), Span(5, 9, "Repetition")]
    assert [s.score for s in spans] == pytest.approx([0.3, 0.15, 0.7])
    assert label_top_two(found, probabilities, labels, 0.35) == [
        Span(0, 4, "Doubt"),
        Span(5, 9, "Repetition"),
    ]
    rounded = label_top_two([Candidate(0, 4, 1 / 3)], probabilities[:1], labels, 1.0, digits=3)
    assert [s.score for s in rounded] == [0.2]


def test_label_top_two_never_adds_a_technique_of_probability_zero() -> None:
    spans = label_top_two([Candidate(0, 4, 1.0)], np.array([[1.0, 0.0]]), ("Doubt", "Slogans"), 0.0)
    assert [s.technique for s in spans] == ["Doubt"]


def test_resolve_threshold_checks_the_given_one_and_falls_back_to_the_tuned_one() -> None:
    assert resolve_threshold(None, 0.3) == 0.3
    assert resolve_threshold(0, 0.3) == 0.0
    for wrong in (-0.1, 1.01, math.nan):
        with pytest.raises(PropscanError, match="between 0 and 1"):
            resolve_threshold(wrong, 0.3)


def test_settings_read_the_old_name_of_the_second_technique_threshold() -> None:
    settings = DecodingSettings.from_config({"si_threshold": 0.2, "second_threshold": 0.45})
    assert (settings.si_threshold, settings.second_technique_threshold) == (0.2, 0.45)
    both = {"second_threshold": 0.1, "second_technique_threshold": 0.6}
    assert current_setting_names(both) == {"second_technique_threshold": 0.6}


def test_settings_round_trip_through_model_json() -> None:
    settings = DecodingSettings(si_threshold=0.25, companion_si_weight=0.5)
    config = json.loads(json.dumps(settings.to_config()))
    assert DecodingSettings.from_config(config) == settings
    assert DecodingSettings.from_config({}) == DecodingSettings()


def test_settings_refuse_misspelt_names_and_wrong_types() -> None:
    with pytest.raises(PropscanError, match="did you mean 'si_threshold'"):
        DecodingSettings.from_config({"si_treshold": 0.3})
    with pytest.raises(PropscanError, match="'si_threshold' must be a number"):
        DecodingSettings.from_config({"si_threshold": "0.3"})
    with pytest.raises(PropscanError, match="'window_tokens' must be a whole number"):
        DecodingSettings.from_config({"window_tokens": 254.5})


def test_settings_of_a_newer_version_are_ignored_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="'merge_gap_words' is not known"):
        settings = DecodingSettings.from_config({"merge_gap_words": 2, "si_threshold": 0.3})
    assert settings == DecodingSettings(si_threshold=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DecodingSettings.from_config({"si_threshold": 0.3})


# --- phrases ----------------------------------------------------------------------------


def _word_offsets(text: str) -> np.ndarray:
    return np.asarray([m.span() for m in re.finditer(r"\w+|[^\w\s]", text)], dtype=np.int64)


def test_merge_runs_joins_close_fragments_on_one_line_only() -> None:
    text = "They lie and cheat.\nThey steal"
    offsets = _word_offsets(text)
    runs = [(1, 2), (3, 4), (6, 7)]  # "lie", "cheat", "steal"
    assert merge_runs(text, offsets, runs, max_gap=5) == [(1, 4), (6, 7)]
    assert merge_runs(text, offsets, runs, max_gap=3) == runs


def test_dangling_function_words_are_dropped_from_the_end() -> None:
    text = "They regroup themselves and attack."
    end = text.index(" attack")
    start, stop = drop_dangling_end(text, text.index("regroup"), end)
    assert text[start:stop] == "regroup themselves"
    assert drop_dangling_end(text, text.index("and"), end) == (text.index("and"), end)


def test_phrase_decoding_drops_lone_stop_words_and_short_fragments() -> None:
    text = "Them! The corrupt elite lies."
    offsets = _word_offsets(text)
    p = np.array([0.9, 0.1, 0.1, 0.9, 0.9, 0.9, 0.1])
    found = decode_subword_spans(text, offsets, p, 0.5, trim_function_words=True)
    assert [text[c.start : c.end] for c in found] == ["corrupt elite lies"]
    assert decode_subword_spans(text, offsets, p, 0.5, min_characters=40) == []


@given(st.text(alphabet="ab ,.;\n'’", max_size=60), st.data())
def test_phrases_index_the_text_and_have_clean_edges(text: str, data: st.DataObject) -> None:
    offsets = _word_offsets(text)
    p = np.asarray(
        data.draw(st.lists(st.floats(0, 1), min_size=len(offsets), max_size=len(offsets)))
    )
    gap = data.draw(st.integers(-1, 10))
    for found in decode_subword_spans(text, offsets, p, 0.5, max_gap=gap, trim_function_words=True):
        fragment = text[found.start : found.end]
        assert fragment and fragment == fragment.strip() and fragment[-1] not in ".,:;"


def test_calibration_is_monotone_and_the_identity_by_default() -> None:
    calibration = Calibration(1.5, -0.1, 0.3)
    scores = [calibration(p, 20) for p in (0.1, 0.3, 0.5, 0.9)]
    assert scores == sorted(scores)
    assert Calibration()(0.3, 10) == pytest.approx(0.3)


def test_phrase_settings_round_trip_and_are_type_checked() -> None:
    settings = DecodingSettings(
        token_threshold=0.1, merge_gap=20, trim_function_words=True, calibration=(2.0, 0.1, -1.0)
    )
    assert DecodingSettings.from_config(settings.to_config()) == settings
    with pytest.raises(PropscanError, match="true or false"):
        DecodingSettings.from_config({"trim_function_words": 1})
    with pytest.raises(PropscanError, match="3 numbers"):
        DecodingSettings.from_config({"calibration": [1.0, 2.0]})


def test_labels_can_carry_the_phrase_score_unscaled() -> None:
    candidate = Candidate(0, 4, 0.8)
    rows = np.array([[0.1, 0.6, 0.3]])
    (span,) = label_top_two([candidate], rows, ("A", "B", "C"), 0.5, scale_by_technique=False)
    assert (span.technique, span.score) == ("B", 0.8)


def test_fragments_within_pairs_each_shorter_fragment_with_its_phrase() -> None:
    phrases = [Candidate(0, 40, 0.9), Candidate(50, 60, 0.4)]
    fragments = [
        Candidate(0, 10, 0.8),  # inside the first phrase
        Candidate(20, 40, 0.7),  # inside it, up to its end
        Candidate(45, 48, 0.5),  # between phrases
        Candidate(50, 60, 0.4),  # the second phrase itself
        Candidate(70, 80, 0.3),  # after every phrase
    ]
    assert fragments_within(phrases, fragments) == [(0, fragments[0]), (0, fragments[1])]
    assert fragments_within([], fragments) == []
