"""What the fuzzing tests share: example counts and strategies for hostile input.

``PROPSCAN_FUZZ_EXAMPLES`` raises every example count (``scripts/fuzz.sh`` sets it).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from typer.testing import Result


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


#: Words that make spans, with the characters that break naive readers (NUL, emoji).
WORDY_TEXT = st.text(
    st.sampled_from(list("They are liars and traitors! \n\t\x00\u200b\u00e9\U0001f642")),
    max_size=120,
)

#: Integers around and far beyond SQLite's 64-bit range, of both signs.
HUGE_INTEGERS = st.one_of(
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70),
    st.integers(min_value=10**18, max_value=10**40),
    st.integers(max_value=-(2**62)),
)


def scratch() -> Path:
    """A new temporary folder for one example (Hypothesis runs many in one test)."""
    return Path(tempfile.mkdtemp(prefix="propscan-fuzz-"))


def assert_result_or_one_line_error(result: Result) -> None:
    """Exit 0, or exit 2 with exactly one ``Error:`` line; never a traceback, never exit 1."""
    assert "Traceback" not in result.output, result.output
    if result.exit_code == 0:
        return
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
