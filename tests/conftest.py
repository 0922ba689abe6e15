"""Shared fixtures: a few real PTC articles read from the corpus directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from propscan.corpus import Split, load_split, resolve_data_dir

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_ARTICLE = REPO.parent / "shared" / "examples" / "abu-kamal-article.txt"


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


@pytest.fixture(scope="session")
def tiny_model(train_split: Split, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline model trained on 6 train articles (a few seconds), saved to a directory."""
    from propscan.baseline import train_baseline
    from propscan.corpus import validation_ids

    held_out = validation_ids(article.id for article in train_split.articles)
    articles = [article for article in train_split.articles if article.id not in held_out][:6]
    gold = train_split.gold.restrict(article.id for article in articles)
    detector = train_baseline(articles, gold, seed=0, progress=False)
    return detector.save(tmp_path_factory.mktemp("tiny-model"))
