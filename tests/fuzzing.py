"""What the fuzzing tests share: example counts and strategies for hostile input.

``PROPSCAN_FUZZ_EXAMPLES`` raises every example count (``scripts/fuzz.sh`` sets it).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def examples(default: int) -> int:
    """``default`` examples, or as many as ``PROPSCAN_FUZZ_EXAMPLES`` asks for."""
    return int(os.environ.get("PROPSCAN_FUZZ_EXAMPLES", default))


def fuzz(default: int) -> settings:
    """Hypothesis settings for a fuzzing test: no deadline, ``examples(default)`` runs."""
    return settings(
        max_examples=examples(default),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def any_text(max_size: int) -> st.SearchStrategy[str]:
    """Any code point, lone surrogates included."""
    return st.text(st.characters(codec=None, categories=None), max_size=max_size)


#: Integers around and far beyond SQLite's 64-bit range, of both signs.
HUGE_INTEGERS = st.one_of(
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70),
    st.integers(min_value=10**18, max_value=10**40),
    st.integers(max_value=-(2**62)),
)
