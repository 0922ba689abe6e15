"""How fast a model finds spans on the machine at hand, in its card's own unit.

A card's speed was measured where its model was trained, and CPUs differ by a factor of
four or more (one with AVX-512 and VNNI against one with AVX2 alone), so someone choosing
between a fast and an accurate model needs the speeds of *their* machine:
``propscan models --measure`` times each model here on the shipped sample article.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from propscan.evaluation.model_card import CardSummary, machine_description
from propscan.examples import sample_text
from propscan.models.base import Detector

#: Copies of the sample article in the timed text: about 5,100 characters, near a PTC dev
#: article's mean (about 4,600), so that the cost per article weighs as it does on dev.
TIMING_COPIES = 3
#: Timed passes after one warm-up pass (sessions, thread pools, caches); the fastest
#: counts, as other work on the machine only ever slows a pass down.
TIMED_PASSES = 3


@dataclass(frozen=True)
class MeasuredSpeed:
    """A model's span finding timed here.

    ``articles_per_second`` counts articles of the mean length of those its card was timed
    on (its characters per second over its articles per second), so that it compares
    with the card's figure; it is ``None`` for a card without both.
    """

    characters_per_second: float
    articles_per_second: float | None
    machine: str


def timing_text() -> str:
    """The text every model is timed on: the sample article, :data:`TIMING_COPIES` times."""
    return "\n\n".join([sample_text()] * TIMING_COPIES)


def characters_per_second(detector: Detector, text: str, passes: int = TIMED_PASSES) -> float:
    """Characters of ``text`` the detector finds spans in per second: the fastest of
    ``passes`` timed passes after a warm-up pass."""
    if not text or passes < 1:
        raise ValueError("need a text and at least one timed pass")
    detector.predict([text])
    fastest = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        detector.predict([text])
        fastest = min(fastest, time.perf_counter() - started)
    return len(text) / fastest


def measure_speed(
    detector: Detector, card: CardSummary, passes: int = TIMED_PASSES
) -> MeasuredSpeed:
    """The detector's speed on this machine, beside which its card's figure can be read."""
    per_second = characters_per_second(detector, timing_text(), passes)
    articles, characters = card.articles_per_second, card.characters_per_second
    if articles is not None and characters is not None and articles > 0 and characters > 0:
        articles = per_second / (characters / articles)  # articles of the card's mean length
    else:
        articles = None
    return MeasuredSpeed(per_second, articles, machine_description())
