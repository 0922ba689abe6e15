"""How counts are written for people: ``1 span``, ``2 spans``, ``1 analysis``."""

from __future__ import annotations


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` with the noun in the right number (``plural`` defaults to ``singular + s``)."""
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"
