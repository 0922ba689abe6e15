"""Shared fixtures: a few real PTC articles read from the corpus directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from propscan.corpus import Split, load_split, resolve_data_dir

EXAMPLE_ARTICLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "examples" / "abu-kamal-article.txt"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return resolve_data_dir(None)


@pytest.fixture(scope="session")
def dev_split(data_dir: Path) -> Split:
    return load_split(data_dir, "dev")


@pytest.fixture(scope="session")
def train_split(data_dir: Path) -> Split:
    return load_split(data_dir, "train")


@pytest.fixture(scope="session")
def example_text() -> str:
    return EXAMPLE_ARTICLE.read_text(encoding="utf-8")
