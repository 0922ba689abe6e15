"""The rules for values a user gives, written once and applied where the value enters.

The CLI options, the service's request schema and form, and the public functions
(:func:`propscan.analyze`, :meth:`Detector.predict`) call these; inner layers trust
what they are handed.
"""

from __future__ import annotations

import math

from propscan.errors import PropscanError


def check_threshold(threshold: float | None) -> float | None:
    """``threshold`` as a float if it lies in [0, 1] (``None`` keeps the model's own)."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise PropscanError(f"threshold must be a number between 0 and 1, got {threshold!r}")
    if math.isnan(threshold) or not 0.0 <= threshold <= 1.0:
        raise PropscanError(f"threshold must be between 0 and 1, got {threshold}")
    return float(threshold)


def check_text(text: str, what: str = "the article") -> str:
    """``text`` if it has something to analyse, else a helpful error."""
    if not isinstance(text, str):
        raise PropscanError(f"{what} must be text, got {type(text).__name__}")
    if not text.strip():
        raise PropscanError(f"{what} is empty; give the text of a news article to analyse")
    return text
