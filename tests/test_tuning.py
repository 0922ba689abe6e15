"""Selection helpers: grid choices off the edges, calibration error, bootstrap intervals."""

from __future__ import annotations

import numpy as np

from propscan.core.spans import Annotations, Article, Span
from propscan.models.transformer.tuning import (
    _best,
    bootstrap_scores,
    decoder_with_prior,
    expected_calibration_error,
    flc_intervals,
    technique_shares,
)
from propscan.ptc.scoring import score_flc


def test_a_choice_on_the_grid_edge_extends_the_grid() -> None:
    choice = _best("token_threshold", (0.3, 0.4, 0.5), lambda v: -abs(v - 0.2))
    assert abs(choice.value - 0.2) < 1e-9 and not choice.at_edge
    assert choice.grid[0] < choice.value


def test_a_choice_stops_at_the_setting_bound() -> None:
    choice = _best("merge_gap", (0, 10, 20), lambda v: -v)
    assert choice.value == -1 and choice.at_edge  # -1 (never merge) is the lowest value


def test_ties_go_to_the_middle_of_the_grid() -> None:
    assert _best("x", (1, 2, 3, 4, 5), lambda v: 1.0).value == 3


def test_calibration_error() -> None:
    scores = np.array([0.1, 0.1, 0.9, 0.9])
    assert expected_calibration_error(scores, np.array([0.1, 0.1, 0.9, 0.9])) < 1e-9
    assert abs(expected_calibration_error(scores, np.array([0.0, 0.2, 1.0, 0.8])) - 0.0) < 1e-9
    assert abs(expected_calibration_error(scores, np.array([1.0, 1.0, 1.0, 1.0])) - 0.5) < 1e-9


def test_bootstrap_of_perfect_predictions_is_one() -> None:
    gold = Annotations(
        {
            "1": (Span(0, 5, "Doubt"), Span(10, 20, "Loaded_Language")),
            "2": (Span(3, 9, "Slogans"),),
        }
    )
    scores = bootstrap_scores(gold, gold, {"1": (2, 2), "2": (1, 1)}, ["1", "2"], samples=50)
    for key in ("si", "tc", "flc"):
        assert scores[key].value == scores[key].low == scores[key].high == 1.0


def test_technique_intervals_hold_the_official_score() -> None:
    gold = Annotations(
        {
            "1": (Span(0, 5, "Doubt"), Span(10, 20, "Loaded_Language")),
            "2": (Span(3, 9, "Slogans"), Span(20, 30, "Doubt")),
            "3": (Span(0, 8, "Loaded_Language"),),
        }
    )
    predicted = Annotations(
        {
            "1": (Span(0, 5, "Doubt"), Span(12, 20, "Name_Calling,Labeling")),
            "2": (
                Span(3, 9, "Slogans"),
                Span(25, 40, "Doubt"),
                Span(0, 2, "Name_Calling,Labeling"),
            ),
            "3": (Span(0, 4, "Loaded_Language"), Span(5, 8, "Name_Calling,Labeling")),
        }
    )
    techniques = ["Doubt", "Loaded_Language", "Slogans", "Name_Calling,Labeling"]
    official = score_flc(gold, predicted, techniques).per_technique
    intervals = flc_intervals(gold, predicted, ["1", "2", "3"], techniques, samples=200)
    assert intervals["Slogans"] == (1.0, 1.0)
    assert intervals["Name_Calling,Labeling"] == (0.0, 0.0)  # in every article, never right
    for technique in techniques:
        low, high = intervals[technique]
        assert low <= official[technique].f1 <= high
    assert intervals["Doubt"][0] < intervals["Doubt"][1]  # one right, one half right


def test_technique_shares_are_smoothed_and_follow_the_technique_order() -> None:
    articles = [Article("1", "a b c d"), Article("2", "e f")]
    gold = Annotations(
        {
            "1": (Span(0, 1, "Doubt"), Span(2, 3, "Doubt"), Span(4, 5, "Slogans")),
            "2": (Span(0, 1, "Doubt"),),
            "3": (Span(0, 1, "Slogans"),),  # not among the articles
        }
    )
    shares = technique_shares(articles, gold, ["Slogans", "Doubt", "Repetition"])
    assert shares == (round(2 / 7, 6), round(4 / 7, 6), round(1 / 7, 6))


def test_a_model_without_a_recorded_prior_gets_that_of_its_fitting_articles() -> None:
    from dataclasses import replace

    from propscan.models.registry import load_detector

    decoder = load_detector(None).decoder  # the shipped model predates the recorded prior
    assert not decoder.settings.technique_prior
    techniques = list(decoder.techniques)
    articles = [Article("1", "a b")]
    gold = Annotations({"1": (Span(0, 1, techniques[0]),)})
    given = decoder_with_prior(decoder, articles, gold)
    assert given.settings.technique_prior == technique_shares(articles, gold, techniques)
    assert given.settings.technique_prior_weight == decoder.settings.technique_prior_weight
    recorded = decoder.with_settings(
        replace(decoder.settings, technique_prior=tuple(1 / len(techniques) for _ in techniques))
    )
    assert decoder_with_prior(recorded, articles, gold) is recorded
