"""How far a report's counts can be trusted, from the model card's figures on held-out
articles (the ``reliability`` facts of :mod:`propscan.evaluation.reliability`).

A technique whose F1 on PTC dev is below :data:`LOW_F1` is shown greyed: its marks are
mostly wrong or missing. Where the model marks a technique far more or far less often
than the annotators did (a predicted-to-gold ratio outside :data:`FAIR_RATIO`), a
one-line warning says its count over- or under-counts, and by how much; the headline
share of marked sentences gets the same caveat.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propscan.core.techniques import TechniqueSet
from propscan.errors import PropscanError

#: Below this FLC F1 on held-out articles, a technique's count is greyed out.
LOW_F1 = 0.15
#: Predicted-to-gold ratios inside this range count fairly; outside it, a warning.
FAIR_RATIO = (2 / 3, 3 / 2)
#: The model card file that holds the facts.
FACTS_FILE = "training.json"


@dataclass(frozen=True, slots=True)
class TechniqueReliability:
    """One technique's figures on held-out articles."""

    label: str
    f1: float
    predicted: int
    gold: int

    @property
    def trusted(self) -> bool:
        return self.f1 >= LOW_F1

    @property
    def ratio(self) -> float | None:
        """Spans the model marked per span the annotators marked (``None``: no gold)."""
        return self.predicted / self.gold if self.gold else None

    def warning(self, name: str, split: str) -> str | None:
        """One line on how this technique's count misleads, or ``None`` when it is fair."""
        ratio = self.ratio
        if ratio is None or (self.trusted and FAIR_RATIO[0] <= ratio <= FAIR_RATIO[1]):
            return None
        measured = (
            f"on PTC {split} it marked {self.predicted} where the annotators marked "
            f"{self.gold} (F1 {self.f1:.2f})"
        )
        if ratio > FAIR_RATIO[1]:
            return f"{name}: over-counts, about {ratio:.1f}x; {measured}"
        if self.predicted == 0:
            return f"{name}: hardly ever found; {measured}"
        if ratio < FAIR_RATIO[0]:
            return f"{name}: under-counts, finds about 1 in {1 / max(ratio, 1e-9):.0f}; {measured}"
        return f"{name}: its marks are mostly wrong; {measured}"


@dataclass(frozen=True)
class Reliability:
    """A model's figures on held-out articles: per technique, and for marked sentences."""

    model: str
    split: str
    articles: int
    predicted_share: float
    gold_share: float
    techniques: dict[str, TechniqueReliability]

    def sentence_caveat(self) -> str:
        """The caveat of a share of marked sentences, in one line."""
        ratio = self.predicted_share / self.gold_share if self.gold_share else None
        read = "" if ratio is None else f": read such shares as about {ratio:.1f}x the annotators'"
        return (
            f"On the {self.articles} PTC {self.split} articles, {self.model} marks "
            f"{self.predicted_share:.1%} of sentences where the annotators marked "
            f"{self.gold_share:.1%}{read}."
        )

    def warnings(self, techniques: TechniqueSet) -> dict[str, str]:
        """The warning line of every technique whose count misleads, by label."""
        found = {}
        for label, facts in self.techniques.items():
            if label in techniques:
                line = facts.warning(techniques.describe(label).name, self.split)
                if line is not None:
                    found[label] = line
        return found


def read_reliability(model_dir: str | os.PathLike[str]) -> Reliability | None:
    """The reliability facts of the model card in ``model_dir`` (``None``: it has none)."""
    path = Path(model_dir) / FACTS_FILE
    if not path.is_file():
        return None
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
        return _reliability(facts)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PropscanError(
            f"{path}: cannot read the model's reliability figures ({error}); "
            "add them with scripts/model_reliability.py MODEL_DIR"
        ) from None


def _reliability(facts: dict[str, Any]) -> Reliability | None:
    found = facts.get("reliability")
    if found is None:
        return None
    shares = found["marked_sentence_share"]
    return Reliability(
        model=f"{facts['name']} {facts['version']}",
        split=str(found["split"]),
        articles=int(found["articles"]),
        predicted_share=float(shares["predicted"]),
        gold_share=float(shares["gold"]),
        techniques={
            label: TechniqueReliability(
                label, float(row["f1"]), int(row["predicted"]), int(row["gold"])
            )
            for label, row in found["techniques"].items()
        },
    )
