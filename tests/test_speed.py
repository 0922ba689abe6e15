"""A model timed on the machine at hand (``propscan models --measure``)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from propscan.evaluation import speed
from propscan.evaluation.model_card import CardSummary
from propscan.evaluation.speed import characters_per_second, measure_speed, timing_text
from propscan.examples import sample_text


class _Clock:
    """A clock that only the detector's passes move, by the durations it is given."""

    def __init__(self, durations: Sequence[float]) -> None:
        self.now, self.durations = 0.0, list(durations)

    def __call__(self) -> float:
        return self.now


class _TimedDetector:
    def __init__(self, clock: _Clock) -> None:
        self.clock = clock
        self.texts: list[list[str]] = []

    def predict(self, texts: Sequence[str]) -> list[object]:
        self.texts.append(list(texts))
        self.clock.now += self.clock.durations.pop(0)
        return []


def _card(articles: float | None, characters: float | None) -> CardSummary:
    return CardSummary(1000, articles, characters, {}, None)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    # a warm-up pass that must not count, even as the fastest, then passes of 2, 1 and 3 s
    fake = _Clock([0.5, 2.0, 1.0, 3.0])
    monkeypatch.setattr(speed.time, "perf_counter", fake)
    return fake


def test_the_fastest_timed_pass_after_a_warm_up_counts(clock: _Clock) -> None:
    detector = _TimedDetector(clock)
    assert characters_per_second(detector, "x" * 500) == 500.0  # type: ignore[arg-type]
    assert detector.texts == [["x" * 500]] * 4  # one warm-up, three timed passes


def test_articles_per_second_are_of_the_cards_mean_length(clock: _Clock) -> None:
    text = timing_text()
    assert text.count(sample_text()) == speed.TIMING_COPIES
    # the card timed 20 articles/s at 100,000 characters/s: articles of 5,000 characters
    measured = measure_speed(_TimedDetector(clock), _card(20.0, 100_000.0))  # type: ignore[arg-type]
    assert measured.characters_per_second == len(text)
    assert measured.articles_per_second == pytest.approx(len(text) / 5_000)
    assert "CPUs" in measured.machine


@pytest.mark.parametrize(("articles", "characters"), [(None, None), (20.0, None), (0.0, 9.0)])
def test_a_card_without_both_speeds_gives_no_articles_per_second(
    clock: _Clock, articles: float | None, characters: float | None
) -> None:
    measured = measure_speed(_TimedDetector(clock), _card(articles, characters))  # type: ignore[arg-type]
    assert measured.articles_per_second is None and measured.characters_per_second > 0


def test_nothing_to_time_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one timed pass"):
        characters_per_second(_TimedDetector(_Clock([])), "", 3)  # type: ignore[arg-type]
