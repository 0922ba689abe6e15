"""Shared fixtures: small corpora written for the tests, and the real corpora when present.

Most tests run on ``tests/fixtures/ptc`` (a dozen short articles in the PTC layout, see
``fixtures/make_ptc_fixture.py``) and ``tests/fixtures/memes`` (a few hand-made memes in
the SemEval-2021 Task 6 layout), so they need nothing outside the repository. Tests
that need a real corpus or the example article ask for ``real_*`` or ``example_text``
and are skipped, with the reason, when they are missing.
"""

from __future__ import annotations

import os
from importlib.metadata import EntryPoints, entry_points
from pathlib import Path

import pytest

from propscan.models import registry
from propscan.ptc.splits import DEFAULT_DATA_DIR, Split, load_split

REPO = Path(__file__).resolve().parents[1]
FIXTURE_DATA = Path(__file__).parent / "fixtures" / "ptc"
FIXTURE_MEMES = Path(__file__).parent / "fixtures" / "memes"
REAL_MEMES = REPO.parent / "shared" / "data" / "semeval2021-task6"
EXAMPLE_ARTICLE = REPO.parent / "shared" / "examples" / "abu-kamal-article.txt"

#: Model packages installed in this environment (``pip install ./models/propscan-mpnet``):
#: tests see only the shipped model and the packages a test installs itself.
_ENVIRONMENT_MODEL_PACKAGES = frozenset(
    entry.dist.name for entry in entry_points(group=registry.ENTRY_POINT_GROUP) if entry.dist
)


@pytest.fixture(autouse=True)
def _only_test_model_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the environment's model packages from the registry, so that what a test lists
    does not depend on which packages the person running it has installed."""

    def visible_entry_points(group: str) -> EntryPoints:
        return EntryPoints(
            entry
            for entry in entry_points(group=group)
            if entry.dist is None or entry.dist.name not in _ENVIRONMENT_MODEL_PACKAGES
        )

    monkeypatch.setattr(registry, "entry_points", visible_entry_points)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The fixture corpus in PTC layout (train and dev)."""
    return FIXTURE_DATA


@pytest.fixture(scope="session")
def dev_split(data_dir: Path) -> Split:
    return load_split(data_dir, "dev")


@pytest.fixture(scope="session")
def train_split(data_dir: Path) -> Split:
    return load_split(data_dir, "train")


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The PTC v2 corpus ($PROPSCAN_DATA, else ../shared/data/ptc-v2); skips without it."""
    path = Path(os.environ.get("PROPSCAN_DATA") or DEFAULT_DATA_DIR)
    if not (path / "train-articles").is_dir():
        pytest.skip(f"the PTC corpus is not at {path} (set PROPSCAN_DATA to run this test)")
    return path


@pytest.fixture(scope="session")
def real_dev_split(real_data_dir: Path) -> Split:
    return load_split(real_data_dir, "dev")


@pytest.fixture(scope="session")
def real_train_split(real_data_dir: Path) -> Split:
    return load_split(real_data_dir, "train")


@pytest.fixture(scope="session")
def memes_dir() -> Path:
    """The fixture memes in the SemEval-2021 Task 6 layout (train, dev and test)."""
    return FIXTURE_MEMES


@pytest.fixture(scope="session")
def real_memes_dir() -> Path:
    """The SemEval-2021 Task 6 meme corpus (../shared/data/semeval2021-task6); skips without it."""
    if not (REAL_MEMES / "training_set_task2.txt").is_file():
        pytest.skip(f"the meme corpus is not at {REAL_MEMES}")
    return REAL_MEMES


@pytest.fixture(params=["fixture", "real"])
def corpus_dir(request: pytest.FixtureRequest) -> Path:
    """The fixture corpus, then the real one (skipped when it is missing)."""
    return request.getfixturevalue("data_dir" if request.param == "fixture" else "real_data_dir")


@pytest.fixture(scope="session")
def example_text() -> str:
    """The example article of ../shared/examples; skips without it."""
    if not EXAMPLE_ARTICLE.is_file():
        pytest.skip(f"the example article is not at {EXAMPLE_ARTICLE}")
    return EXAMPLE_ARTICLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def sample_article(dev_split: Split) -> str:
    """A longer article for end-to-end tests: the fixture dev articles one after another,
    with ``\\n`` line ends (as a browser's form sends them)."""
    text = "\n\n".join(article.text.strip() for article in dev_split.articles)
    return text.replace("\r\n", "\n")


@pytest.fixture(scope="session")
def tiny_model(train_split: Split, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline model trained on the fixture train split (a second or two), saved."""
    from propscan.models.baseline.train import train_baseline

    detector = train_baseline(train_split.articles, train_split.gold, seed=0, progress=False)
    return detector.save(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def other_techniques_model(train_split: Split, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny baseline model named ``propscan-other`` with a technique set of its own: the
    four most frequent fixture techniques, last letter first, so that colour slots (a
    technique's place in its model's set) differ from the 14's."""
    from collections import Counter

    from propscan.core.spans import Annotations
    from propscan.core.techniques import technique_set
    from propscan.models.base import read_model_config, write_model_config
    from propscan.models.baseline.train import train_baseline

    counts = Counter(span.technique for _, span in train_split.gold)
    labels = sorted((label for label, _ in counts.most_common(4)), reverse=True)
    gold = Annotations(
        {
            article_id: tuple(span for span in spans if span.technique in labels)
            for article_id, spans in train_split.gold.spans.items()
        }
    )
    detector = train_baseline(
        train_split.articles, gold, seed=0, techniques=technique_set(labels), progress=False
    )
    directory = detector.save(tmp_path_factory.mktemp("other-techniques"))
    write_model_config(directory, {**read_model_config(directory), "name": "propscan-other"})
    return directory


@pytest.fixture(scope="session")
def tiny_package_site(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model as the package ``propscan-tiny`` (model name ``tiny``), written by
    ``propscan package-model`` and installed offline by pip into a folder of its own."""
    from support.model_packages import pip_install_model_package

    return pip_install_model_package(tiny_model, "tiny", tmp_path_factory.mktemp("package"))


@pytest.fixture
def tiny_package(tiny_package_site: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The installed ``tiny`` model package, on ``sys.path`` for this test; its name."""
    monkeypatch.syspath_prepend(str(tiny_package_site))
    return "tiny"
