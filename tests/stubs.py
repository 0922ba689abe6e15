"""Stand-in models for tests that check adapters, not accuracy."""

from __future__ import annotations

from collections.abc import Sequence

from propscan.core.spans import Span
from propscan.core.techniques import PTC_14
from propscan.models.base import Prediction


class FixedDetector:
    """Marks the given character spans in every text long enough to hold them."""

    name = "fixed"
    version = "0"
    techniques = PTC_14
    decision_threshold = 0.5
    directory = None

    def __init__(self, spans: Sequence[Span]) -> None:
        self.spans = tuple(spans)

    def predict(self, texts: Sequence[str], threshold: float | None = None) -> list[Prediction]:
        return [Prediction(tuple(s for s in self.spans if s.end <= len(t))) for t in texts]
