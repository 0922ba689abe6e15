"""The rules for values a user gives, written once and applied where the value enters.

The CLI options, the service's request schema and form, and the public functions
(:func:`propscan.analyze`, :meth:`Detector.predict`) call these; inner layers trust
what they are handed.
"""

from __future__ import annotations

import math
import unicodedata
from typing import TypeGuard

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


#: Longest text analysed by default, in characters: ``analyze``, each ``batch`` record
#: and the service (``--max-chars`` changes it; the README's limits table lists it).
DEFAULT_MAX_CHARS = 200_000

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


class TextProblem(PropscanError):
    """Text that cannot be analysed; ``reason`` is ``invalid``, ``empty`` or ``too_long``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def unicode_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as UTF-8 (an unpaired surrogate, and where), or ``None``.

    Unpaired surrogates come from JSON escapes such as ``\\ud800`` or from bytes decoded
    with ``surrogateescape``; the latter are named as the byte they stand for.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        char = value[error.start]
        if "\udc80" <= char <= "\udcff":
            byte = ord(char) - 0xDC00
            return f"is not valid UTF-8 (byte 0x{byte:02X} at character {error.start})"
        return f"has an unpaired surrogate (U+{ord(char):04X}) at character {error.start}"
    return None


def is_finite_number(value: object) -> TypeGuard[int | float]:
    """Whether ``value`` read from JSON is a real number (not a bool, NaN or infinite)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def has_content(text: str) -> bool:
    """Whether anything is left after removing whitespace, control and format characters.

    A file of NUL bytes or of zero-width spaces has nothing to analyse.
    """
    return any(
        not char.isspace() and unicodedata.category(char) not in _INVISIBLE_CATEGORIES
        for char in text
    )


def check_text(text: object, what: str = "the article", max_chars: int | None = None) -> str:
    """``text`` if it can be analysed, else a :class:`TextProblem` saying why and where."""
    if not isinstance(text, str):
        raise TextProblem("invalid", f"{what} must be text, got {type(text).__name__}")
    problem = unicode_problem(text)
    if problem is not None:
        raise TextProblem("invalid", f"{what} {problem}; send it as valid UTF-8 text")
    if not has_content(text):
        raise TextProblem(
            "empty",
            f"{what} is empty (nothing but spaces, control or invisible characters); "
            "give the text of a news article to analyse",
        )
    if max_chars is not None and len(text) > max_chars:
        raise TextProblem(
            "too_long",
            f"{what} has {len(text):,} characters, more than the limit of {max_chars:,}; "
            "analyse it in parts or raise the limit (--max-chars)",
        )
    return text
