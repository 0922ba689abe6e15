"""The checks the code is held to: ruff's lint and format rules, and mypy's type checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_finds_nothing(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_package_type_checks() -> None:
    from mypy import api

    config = str(ROOT / "pyproject.toml")
    stdout, stderr, status = api.run(["--config-file", config, str(ROOT / "src" / "propscan")])
    assert status == 0, stdout + stderr
