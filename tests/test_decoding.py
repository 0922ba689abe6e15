"""The one decoder of every model: runs, edges, labels and settings, each rule on its own."""

from __future__ import annotations

import json
import re
import warnings
from functools import partial

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscan.core.sentences import split_sentence_starts
from propscan.core.spans import Span, merge_spans
from propscan.errors import PropscanError
from propscan.models.decoding import (
    Calibration,
    Candidate,
    bridged_runs,
    decode_subword_spans,
    fragments_within,
    label_top_two,
    merge_runs,
    prior_adjusted,
    repetition_rules,
    resolve_threshold,
    runs_above,
    technique_fragments,
)
from propscan.models.decoding_settings import DecodingSettings, current_setting_names
from propscan.models.span_edges import (
    MAX_ADDRESS_CHARACTERS,
    _opens_quote,
    balance_quotes,
    complete_phrase_end,
    complete_phrase_start,
    drop_dangling_end,
    extend_to_words,
    is_lone_stop_word,
    outside_web_addresses,
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


@pytest.mark.parametrize("ending", ["nation's", "X-1", "2.5"])
def test_a_joined_word_that_ends_the_text_is_kept_whole(ending: str) -> None:
    text = f"they betray every {ending}"
    start = text.index(ending)
    assert extend_to_words(text, start, start + 1, joined=True) == (start, len(text))


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


def test_resolve_threshold_takes_the_given_one_and_falls_back_to_the_tuned_one() -> None:
    assert resolve_threshold(None, 0.3) == 0.3
    assert resolve_threshold(0, 0.3) == 0.0


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


def test_the_technique_prior_round_trips_and_is_type_checked() -> None:
    settings = DecodingSettings(technique_prior=(0.7, 0.2, 0.1), technique_prior_weight=0.4)
    config = json.loads(json.dumps(settings.to_config()))
    assert DecodingSettings.from_config(config) == settings
    with pytest.raises(PropscanError, match="'technique_prior' must be a list of numbers"):
        DecodingSettings.from_config({"technique_prior": [0.5, "rare"]})


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


def test_a_function_word_inside_a_hyphenated_word_is_not_dangling() -> None:
    text = "the CIA bought-and-paid-for BBC"
    end = text.index(" BBC")
    start, stop = drop_dangling_end(text, text.index("CIA"), end)
    assert text[start:stop] == "CIA bought-and-paid-for"


def _completed(text: str, span: str) -> str:
    start = text.index(span)
    return text[slice(*complete_phrase_end(text, start, start + len(span)))]


@pytest.mark.parametrize(
    ("text", "span", "completed"),
    [
        ("who has dodged every question about it", "has dodged every", "has dodged every question"),
        (
            "we win when every eligible voter is there",
            "win when every",
            "win when every eligible voter",
        ),
        ("They do our duty. We", "They do our", "They do our duty"),
        ("we stand with our brave troops today", "stand with our", "stand with our brave troops"),
        ("betray every so-called expert here", "betray every", "betray every so-called expert"),
        ("he claims that Democrats rigged it", "he claims that", "he claims"),
        ("they attack the media every day", "they attack the", "they attack the media"),
        ("they told her Trump lied", "they told her", "they told her"),
        ("They lied again. The media knew", "They lied again. The", "They lied again. The"),
        ("fear of Putin, a dossier of lies", "fear of Putin, a", "fear of Putin, a"),
        ("since the 9/11 attacks", "since the", "since the 9/11 attacks"),
        ("since the 10% rise", "since the", "since the"),
        ("they lie every 2.5 years", "they lie every", "they lie every 2.5 years"),
        ("they betray every nation's", "they betray every", "they betray every nation's"),
        ("they betray every U.S. citizen", "they betray every", "they betray every U.S. citizen"),
        ("they betray every U.S.", "they betray every", "they betray every U.S"),
        ("the finest are those who risk it", "the finest are those", "the finest are those"),
        ("they die under that. Fifth", "die under that", "die under that"),
        ("they stand by our\nflag", "stand by our", "stand by our"),
        ("the promise that their vote counts", "the promise that", "the promise"),
        ("he said (that they won", "said (that", "said (that"),
        ("he said ( that they won", "said ( that", "said ( that"),
        ("talk of that they knew", "of that", "of that"),
        ("every day", "every", "every"),
    ],
)
def test_a_span_ending_on_a_pointing_word_takes_what_it_points_at(
    text: str, span: str, completed: str
) -> None:
    """A determiner or possessive takes up to two whole words on the same line, never a
    function or pointing word, a word running on past a symbol or what lies past
    punctuation or a sentence's end; a "that" before a word is left out instead, unless
    that leaves a bracket or only function words."""
    assert _completed(text, span) == completed


def test_a_completed_phrase_stops_where_the_next_span_starts() -> None:
    text = "we win when every eligible voter is there"
    start = text.index("win")
    end = text.index(" eligible")
    limit = text.index("voter")
    assert text[slice(*complete_phrase_end(text, start, end, limit))] == "win when every eligible"
    offsets = _word_offsets(text)
    p = np.array([0.0, 0.9, 0.9, 0.9, 0.0, 0.9, 0.0, 0.0])  # "win when every", "voter"
    found = decode_subword_spans(text, offsets, p, 0.5, complete_phrases=True)
    assert [text[c.start : c.end] for c in found] == ["win when every eligible", "voter"]


def _started(text: str, span: str) -> str:
    start = text.index(span)
    starts = partial(split_sentence_starts, text)
    return text[slice(*complete_phrase_start(text, start, start + len(span), starts))]


@pytest.mark.parametrize(
    ("text", "span", "completed"),
    [
        ("Make no mistake: it is a ghost town.", "no mistake", "Make no mistake"),
        ("It fell. Make no mistake: it fell.", "no mistake", "Make no mistake"),
        ("It fell.\nTraitors lied again", "lied again", "Traitors lied again"),
        ("It fell.\r\nTraitors lied again", "lied again", "Traitors lied again"),
        ("Theresa May’s cowardly government", "May’s cowardly", "Theresa May’s cowardly"),
        ("Pro-Trump forces rally", "forces rally", "Pro-Trump forces rally"),
        ("The traitors lied", "traitors lied", "traitors lied"),  # a function word stays out
        ("But traitors lied", "traitors lied", "traitors lied"),
        ("They say traitors lied", "traitors lied", "traitors lied"),  # "say" starts nothing
        ("Make, no mistake", "no mistake", "no mistake"),  # punctuation between
        ("Make  no mistake", "no mistake", "no mistake"),  # nor more than one space
        ("Traitors\nlied again", "lied again", "lied again"),  # nor a line break
        ('"Make no mistake', "no mistake", "no mistake"),  # the sentence starts at a quote
        ("Mr. Smith lied again", "lied again", "lied again"),  # "Smith" starts no sentence
        ("Antidisestablishmentarianism lies", "lies", "lies"),  # a run this long is no word
        ("Antidisestablishmentarian lies", "lies", "Antidisestablishmentarian lies"),
    ],
)
def test_a_span_starting_on_a_sentence_s_second_word_takes_the_first(
    text: str, span: str, completed: str
) -> None:
    """The first word of a sentence joins a span starting on the second when it is no
    function word and one space joins them."""
    assert _started(text, span) == completed


def test_a_completed_start_never_reaches_into_the_span_before() -> None:
    text = "Traitors lied"
    starts = partial(split_sentence_starts, text)
    assert complete_phrase_start(text, 9, 13, starts, floor=8) == (9, 13)
    assert complete_phrase_start(text, 9, 13, starts, floor=0) == (0, 13)
    offsets = _word_offsets(text)
    p = np.array([0.0, 0.9])  # "lied"
    found = decode_subword_spans(text, offsets, p, 0.5, complete_phrases=True)
    assert [text[c.start : c.end] for c in found] == ["Traitors lied"]
    assert decode_subword_spans(text, offsets, p, 0.5)[0].start == 9  # only when asked
    text = "Make mistake"
    offsets = np.array([(0, 2), (2, 4), (5, 12)])
    p = np.array([0.9, 0.1, 0.9])  # "Ma", grown to "Make", and "mistake": two spans
    found = decode_subword_spans(text, offsets, p, 0.5, complete_phrases=True)
    assert [text[c.start : c.end] for c in found] == ["Make", "mistake"]


def test_a_completed_start_never_takes_back_a_word_its_run_dropped() -> None:
    text = "British lied"
    offsets = np.array([(0, 7), (7, 7), (8, 12)])
    p = np.array([0.9, 0.0, 0.9])  # "British" (a lone identity word) and "lied"
    found = decode_subword_spans(text, offsets, p, 0.5, whole_words=True, complete_phrases=True)
    assert [text[c.start : c.end] for c in found] == ["lied"]


def test_a_run_inside_the_span_before_gives_no_span_of_its_own() -> None:
    text = "Make mistake now"
    offsets = np.array([(0, 4), (5, 7), (7, 9), (9, 12), (13, 16)])
    p = np.array([0.0, 0.9, 0.1, 0.9, 0.0])  # "mi" and "ake", pieces of one word
    found = decode_subword_spans(text, offsets, p, 0.5, complete_phrases=True)
    assert [text[c.start : c.end] for c in found] == ["Make mistake"]
    found = decode_subword_spans(text, offsets, p, 0.5)
    assert [text[c.start : c.end] for c in found] == ["mistake"]


def test_a_possessive_is_completed_before_dangling_words_are_dropped() -> None:
    text = "they betray their country daily"
    offsets = _word_offsets(text)
    p = np.array([0.0, 0.9, 0.9, 0.0, 0.0])  # "betray their"
    found = decode_subword_spans(
        text, offsets, p, 0.5, trim_function_words=True, complete_phrases=True
    )
    assert [text[c.start : c.end] for c in found] == ["betray their country daily"]
    found = decode_subword_spans(text, offsets, p, 0.5, trim_function_words=True)
    assert [text[c.start : c.end] for c in found] == ["betray"]


#: Pieces of text that test the edge rules: hyphens, apostrophes, pointing words, an
#: abbreviation, line breaks, quotes, brackets, dashes and words that start sentences.
TEXT_PIECES = (
    *("paid", "a", "-a", "for", "-for", "'s", "’", "-", " ", " ", ", ", "our", "that"),
    *("of", "every", "U.S.", "\n", '"', "(", "—", ". ", "Make", "British"),
)


@given(
    st.lists(
        st.sampled_from(TEXT_PIECES),
        max_size=25,
    ),
    st.data(),
)
def test_whole_word_phrases_never_cut_a_word(pieces: list[str], data: st.DataObject) -> None:
    """Whatever the probabilities: whole words, clean edges and no lone stop word, and
    completion ends on no bracket or dash."""
    text = "".join(pieces)
    offsets = _word_offsets(text)
    p = np.asarray(
        data.draw(st.lists(st.floats(0, 1), min_size=len(offsets), max_size=len(offsets)))
    )
    max_gap = data.draw(st.sampled_from([-1, 0, 3]))
    plain, completed = (
        decode_subword_spans(
            text,
            offsets,
            p,
            0.5,
            max_gap=max_gap,
            trim_function_words=True,
            whole_words=True,
            complete_phrases=complete,
        )
        for complete in (False, True)
    )
    for span in plain + completed:
        assert extend_to_words(text, span.start, span.end, joined=True) == (span.start, span.end)
        assert not is_lone_stop_word(text, span.start, span.end)  # "of that" -> "of" is none
        assert trim_span(text, span.start, span.end) == (span.start, span.end)
    for span in set(completed) - set(plain):  # completion ends on no bracket or dash
        assert text[span.end - 1] not in "(—"


def test_completion_never_leaves_only_function_words() -> None:
    """ "of that" before "they": leaving "that" out would leave the lone stop word "of"."""
    text = "they spoke of that they knew"
    offsets = _word_offsets(text)
    p = np.array([0.0, 0.0, 0.9, 0.9, 0.0, 0.0])
    for trim in (True, False):
        found = decode_subword_spans(
            text, offsets, p, 0.5, trim_function_words=trim, complete_phrases=True
        )
        assert [text[c.start : c.end] for c in found] == ["of that"]


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


LABELS = ("Doubt", "Loaded_Language", "Slogans")


def _phrase_and_fragments() -> tuple[list[Candidate], list[Span], np.ndarray]:
    phrases = [Candidate(0, 60, 0.7)]
    rows = np.array([[0.5, 0.3, 0.2]])  # the phrase: Doubt, then Loaded_Language
    return phrases, label_top_two(phrases, rows, LABELS, 1.01, scale_by_technique=False), rows


def test_technique_fragments_add_a_technique_the_phrase_lacks() -> None:
    phrases, labelled, rows = _phrase_and_fragments()
    inside = [(0, Candidate(10, 18, 0.9)), (0, Candidate(30, 40, 0.8))]
    fragment_rows = np.array([[0.1, 0.8, 0.1], [0.9, 0.05, 0.05]])
    spans = technique_fragments(phrases, labelled, rows, inside, fragment_rows, LABELS)
    # the Loaded_Language fragment is added with its phrase's score; the Doubt one is not
    assert spans == [Span(0, 60, "Doubt", 0.7), Span(10, 18, "Loaded_Language", 0.7)]


def test_a_phrase_hands_its_technique_over_to_short_fragments_of_it() -> None:
    phrases, labelled, rows = _phrase_and_fragments()
    inside = [(0, Candidate(10, 18, 0.9)), (0, Candidate(30, 40, 0.8))]
    fragment_rows = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05]])  # both Doubt
    args = (phrases, labelled, rows, inside, fragment_rows, LABELS)
    # 18 of 60 characters: handed over at a share of 0.3, kept at 0.25 and when off
    assert technique_fragments(*args, 0.3) == [
        Span(0, 60, "Loaded_Language", 0.7),
        Span(10, 18, "Doubt", 0.7),
        Span(30, 40, "Doubt", 0.7),
    ]
    assert technique_fragments(*args, 0.25) == [Span(0, 60, "Doubt", 0.7)]
    assert technique_fragments(*args) == [Span(0, 60, "Doubt", 0.7)]


def test_a_handover_never_gives_a_phrase_a_technique_twice() -> None:
    phrases = [Candidate(0, 60, 0.7)]
    rows = np.array([[0.5, 0.4, 0.1]])
    labelled = label_top_two(phrases, rows, LABELS, 0.3, scale_by_technique=False)
    assert [s.technique for s in labelled] == ["Doubt", "Loaded_Language"]
    inside = [(0, Candidate(10, 18, 0.9))]
    spans = technique_fragments(
        phrases, labelled, rows, inside, np.array([[0.9, 0, 0.1]]), LABELS, 1.0
    )
    assert spans == [
        Span(0, 60, "Slogans", 0.7),
        Span(0, 60, "Loaded_Language", 0.7),
        Span(10, 18, "Doubt", 0.7),
    ]


@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(1, 30)), min_size=1, max_size=6),
    st.floats(-1.0, 1.0),
    st.integers(0, 2**32 - 1),
)
def test_technique_fragments_keep_the_union_of_the_phrases(
    pieces: list[tuple[int, int]], share: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    phrases, inside, start = [], [], 0
    for gap, length in pieces:
        phrase = Candidate(start + gap, start + gap + length + 10, 0.5)
        phrases.append(phrase)
        inside.append(
            (len(phrases) - 1, Candidate(phrase.start + 2, phrase.start + 2 + length, 0.5))
        )
        start = phrase.end + 1
    rows = rng.random((len(phrases), len(LABELS)))
    labelled = label_top_two(phrases, rows, LABELS, 0.5, scale_by_technique=False)
    fragment_rows = rng.random((len(inside), len(LABELS)))
    spans = technique_fragments(phrases, labelled, rows, inside, fragment_rows, LABELS, share)
    assert merge_spans(spans) == merge_spans(labelled)
    for phrase in phrases:  # every phrase keeps as many labels, none of them twice
        techniques = [s.technique for s in spans if (s.start, s.end) == (phrase.start, phrase.end)]
        expected = [s for s in labelled if (s.start, s.end) == (phrase.start, phrase.end)]
        assert len(techniques) == len(set(techniques)) == len(expected)


def test_the_prior_adjustment_names_a_rare_technique_its_weight_decides() -> None:
    rows = np.array([[0.6, 0.4], [0.9, 0.1]])
    prior = (0.9, 0.1)  # the first technique is nine times as frequent in training
    assert prior_adjusted(rows, prior, 0.0) is rows
    assert prior_adjusted(rows, (), 1.0) is rows
    half = prior_adjusted(rows, prior, 0.5)
    np.testing.assert_allclose(half.sum(axis=1), 1.0)
    assert half[0].argmax() == 1 and half[1].argmax() == 0  # 0.6/√0.9 < 0.4/√0.1
    full = prior_adjusted(rows, prior, 1.0)
    np.testing.assert_allclose(full[1], [0.5, 0.5])  # 0.9/0.9 == 0.1/0.1


@given(
    st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3).filter(lambda r: sum(r) > 1e-6),
    st.floats(0.0, 2.0),
)
def test_the_prior_adjustment_keeps_the_order_of_equally_frequent_techniques(
    row: list[float], weight: float
) -> None:
    distribution = np.array([row]) / sum(row)
    adjusted = prior_adjusted(distribution, (1 / 3, 1 / 3, 1 / 3), weight)
    np.testing.assert_allclose(adjusted, distribution, atol=1e-12)


def test_repetition_rules_follow_how_often_a_fragment_recurs() -> None:
    rows = np.array([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2], [0.5, 0.3, 0.2]])
    repeats = np.array([0, 1, 3])  # Repetition is column 2
    off = repetition_rules(rows, repeats, 2, needs_recurrence=False)
    assert off is rows
    once = repetition_rules(rows, repeats, 2, needs_recurrence=True)
    np.testing.assert_allclose(once[0], [0.625, 0.375, 0.0])
    np.testing.assert_allclose(once[1:], rows[1:])
    forced = repetition_rules(rows, repeats, 2, needs_recurrence=True, min_repeats=2)
    assert forced[2].argmax() == 2 and forced[2][0] > forced[2][1]  # the others keep their order
    np.testing.assert_allclose(forced[:2], once[:2])
    np.testing.assert_allclose(forced.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ("the pro-American camp", (4, 7), "pro-American"),  # a hyphenated word stays whole
        ("it's not necessary", (3, 17), "it's not necessary"),  # so does a contraction
        ("the nation’s pride", (11, 18), "nation’s pride"),
        ("well - maybe", (0, 4), "well"),  # a dash between spaces joins nothing
        ("a huge 1,000 bill", (9, 17), "1,000 bill"),  # so does a number
        ("2.2 billion users", (2, 11), "2.2 billion"),
        ("it ended.5 more", (3, 8), "ended"),  # a point after a word joins no number
        ("1, 2, 3", (0, 1), "1"),
        ("the naïve, e\u0301lite", (11, 16), "e\u0301lite"),  # an accent stays on its letter
        ("the military/security complex", (4, 13), "military/security"),  # slash-joined words
        ("and/or", (4, 6), "and/or"),
        ("a path / b", (2, 6), "path"),  # a slash between spaces joins nothing
        ("on 12/05/2020 they", (6, 8), "12/05/2020"),  # nor a date
        ("see x.com/news/lies", (15, 19), "lies"),  # nor parts of a web address
        ("in /usr/local/bin now", (8, 13), "local"),  # or a path
        ("in non-U.S. markets", (3, 8), "non-U.S"),  # so does an initialism
        ("a sinister W.H.O. agenda", (11, 12), "W.H.O"),
        ("Plan B. Then", (5, 6), "B"),  # a sentence's end is no initialism
        ("the U.N.", (4, 5), "U.N"),
        ("a U.S.-backed coup", (2, 4), "U.S.-backed"),  # an initialism joins a hyphen
        ("a U.S.-backed coup", (7, 13), "U.S.-backed"),
        ("the U.S.'s allies", (4, 5), "U.S.'s"),  # so does an apostrophe
        ("U.S./Israeli lies", (5, 12), "U.S./Israeli"),  # and a slash
        ("the e.g. case", (4, 5), "e.g"),
        ("in item a.I am", (8, 9), "a"),  # a point between cases ends a sentence
        ("in item a.I am", (10, 11), "I"),
        ("the A.-led team", (4, 5), "A"),  # one letter and a point make no initialism
        ("ok.No", (0, 2), "ok"),  # nor are words run together after a point
    ],
)
def test_joined_words_are_kept_whole(text: str, span: tuple[int, int], expected: str) -> None:
    start, end = extend_to_words(text, *span, joined=True)
    assert text[start:end] == expected


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ('so-called "reformers" won', (10, 20), '"reformers"'),  # the closer is taken in
        ('so-called "reformers won', (10, 20), "reformers"),  # an unmatched opener goes
        ('he said it was "a disgrace" today', (16, 27), '"a disgrace"'),
        ("the “globalist elite” again", (4, 20), "“globalist elite”"),
        ("they are “traitors”, all", (9, 18), "“traitors”"),
        ('all of it." Then', (0, 11), "all of it"),  # an unmatched closer goes
        ('"', (0, 1), None),
        ("they are “traitors” again", (18, 25), "again"),  # a closer first goes
        ("the so-called “experts” lie", (0, 15), "the so-called"),  # an opener last goes
        ('he said "', (0, 9), "he said"),
        ('"crooked" and "corrupt"', (0, 23), '"crooked" and "corrupt"'),  # balanced: kept
        ("an attempt to ‘Smear’ him", (14, 20), "‘Smear’"),  # single marks pair up too
        ("who ‘tortured some folks’", (4, 13), "tortured"),
        ("‘Islam’ means ‘Submission’", (0, 26), "‘Islam’ means ‘Submission’"),
        ("the so-called ‘experts’ lie", (0, 15), "the so-called"),
        ("‘they don’t care", (0, 16), "they don’t care"),  # an apostrophe closes nothing
        ("an attempt to ‘Smear’ him", (15, 21), "‘Smear’"),  # the opener outside too
        ("the ‘experts’ and victims’ families", (18, 26), "victims’"),  # a plural's closes none
    ],
)
def test_no_quotation_mark_is_left_unmatched_at_an_edge(
    text: str, span: tuple[int, int], expected: str | None
) -> None:
    found = balance_quotes(text, *span)
    assert (None if found is None else text[found[0] : found[1]]) == expected


@given(text=st.text(alphabet=st.sampled_from("ab \"“”«»-'’ ."), max_size=30), data=st.data())
def test_balanced_quotes_stay_inside_the_text_and_never_grow_beyond_a_partner(
    text: str, data
) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    found = balance_quotes(text, start, end) if end > start else None
    if found is not None:
        assert 0 <= found[0] < found[1] <= len(text)
        assert start - 1 <= found[0] and found[1] <= end + 1
        assert _opens_quote(text, found[0]) is not False  # no closing mark first
        assert _opens_quote(text, found[1] - 1) is not True  # no opening mark last


def test_whole_words_drop_a_lone_identity_word_and_keep_phrases() -> None:
    text = "The British press and the Muslim Brotherhood smear campaign."
    offsets = np.array([[m.start(), m.end()] for m in re.finditer(r"\w+|[^\w\s]", text)])
    probabilities = np.zeros(len(offsets))
    probabilities[1] = 0.9  # "British" alone
    probabilities[5:9] = 0.9  # "Muslim Brotherhood smear campaign"
    spans = decode_subword_spans(text, offsets, probabilities, 0.5, whole_words=True)
    assert [text[c.start : c.end] for c in spans] == ["Muslim Brotherhood smear campaign"]
    plain = decode_subword_spans(text, offsets, probabilities, 0.5)
    assert next(text[c.start : c.end] for c in plain) == "British"


def test_whole_words_drop_a_span_inside_a_web_address() -> None:
    text = "Source: https://www.example.com/technology/purged-pages-pushing-lies and lies again"
    offsets = np.array([[m.start(), m.end()] for m in re.finditer(r"\w+|[^\w\s]", text)])
    probabilities = np.zeros(len(offsets))
    inside = [i for i, (s, e) in enumerate(offsets) if text[s:e] in {"purged", "pushing"}]
    probabilities[inside[0] : inside[1] + 1] = 0.9  # words of the link's path
    probabilities[-2:] = 0.9  # "lies again" after it
    spans = decode_subword_spans(text, offsets, probabilities, 0.5, whole_words=True)
    assert [text[c.start : c.end] for c in spans] == ["lies again"]
    plain = decode_subword_spans(text, offsets, probabilities, 0.5)
    assert text[plain[0].start : plain[0].end] == "purged-pages-pushing"


def test_a_phrase_over_a_link_keeps_its_pieces_outside_it() -> None:
    text = "Traitors lied again, as https://x.com/news/traitors-lied shows. They are criminals."
    offsets = np.array([[m.start(), m.end()] for m in re.finditer(r"\w+|[^\w\s]", text)])
    probabilities = np.full(len(offsets), 0.9)
    spans = decode_subword_spans(
        text, offsets, probabilities, 0.5, whole_words=True, trim_function_words=True
    )
    # each piece is a span of its own, and the one before the link loses its dangling "as"
    assert [text[c.start : c.end] for c in spans] == [
        "Traitors lied again",
        "shows. They are criminals",
    ]


@pytest.mark.parametrize(
    ("text", "fragment", "pieces"),
    [
        ("see www.example.org/a-lie-exposed now", "lie-exposed", []),  # inside one
        ("see HTTP://example.org/lies now", "lies", []),
        ("at breitbart.com/news/purged-pages today", "purged-pages", []),  # a bare domain
        ("(https://x.com/lies). Lies again", "lies). Lies again", ["Lies again"]),
        ("see x.org/news/purged-lies and lies", "purged-lies and lies", ["and lies"]),
        ("lies, said x.org/y", "lies, said x.org", ["lies, said"]),
        ("lies (www.x.org/a) and lies", "lies (www.x.org/a) and lies", ["lies", "and lies"]),
        ("lies www.x.org x.org/y lies", "lies www.x.org x.org/y lies", ["lies", "lies"]),
        ("lies — www.x.org/a — lies", "lies — www.x.org/a —", ["lies —"]),  # no bare dash
        ("the lies of www.example.org", "the lies", ["the lies"]),  # none touched
        ("U.S./Israeli lies", "Israeli lies", ["Israeli lies"]),  # no domain
        ("and/or lies", "or lies", ["or lies"]),
    ],
)
def test_outside_web_addresses(text: str, fragment: str, pieces: list[str]) -> None:
    start = text.index(fragment)
    found = outside_web_addresses(text, start, start + len(fragment))
    assert [text[slice(*piece)] for piece in found] == pieces


def test_a_run_without_spaces_past_the_limit_is_no_web_address() -> None:
    text = "www." + "a" * (MAX_ADDRESS_CHARACTERS + 10) + " lies"
    assert outside_web_addresses(text, 5, 9) == [(5, 9)]
    joined = "x/" + "y" * (MAX_ADDRESS_CHARACTERS + 10)  # nor does its slash join words
    assert extend_to_words(joined, 0, 1, joined=True) == (0, 1)
