"""Model packages: ``propscan package-model`` writes one, pip installs it offline with the
build backend it carries, and propscan finds the model by name (see ``test_registry``)."""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import shutil
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from propscan.cli import app
from propscan.errors import PropscanError
from propscan.evaluation.model_card import write_model_card
from propscan.models.base import DEFAULT_MODEL_DIR, read_model_config, write_model_config
from propscan.packaging import backend
from propscan.packaging.build import write_model_package

runner = CliRunner()


@pytest.fixture
def trained_dir(tiny_model: Path, tmp_path: Path) -> Path:
    """The tiny model as a training run leaves it: a card, and scratch beside the model."""
    run = shutil.copytree(tiny_model, tmp_path / "run")
    facts = {"name": "propscan-baseline", "version": "0.3.3", "kind": "baseline"}
    write_model_card(run, {**facts, "description": "A tiny model.", "training_seconds": 1.0})
    for scratch in ("checkpoint", "selection", "dev-evaluation"):
        (run / scratch).mkdir()
        (run / scratch / "last.pt").write_bytes(b"weights of a stage")
    return run


def test_a_package_holds_the_model_its_card_and_an_entry_point(
    trained_dir: Path, tmp_path: Path
) -> None:
    package = write_model_package(trained_dir, "tiny-plus", tmp_path / "pkg")
    root = tmp_path / "pkg"
    assert (package.distribution, package.module) == ("propscan-tiny-plus", "propscan_tiny_plus")
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["build-system"] == {
        "requires": [],
        "build-backend": "propscan_model_backend",
        "backend-path": ["."],
    }
    assert project["project"]["name"] == "propscan-tiny-plus"
    assert project["project"]["version"] == read_model_config(trained_dir)["version"]
    assert project["project"]["description"] == "A tiny model."
    assert project["project"]["entry-points"]["propscan.models"] == {
        "tiny-plus": "propscan_tiny_plus:model_dir"
    }
    model = root / "propscan_tiny_plus" / "model"
    shipped = {path.name for path in model.iterdir()}
    assert shipped == {path.name for path in trained_dir.iterdir()} - {
        "checkpoint",
        "selection",
        "dev-evaluation",
    }
    assert (model / "model.json").read_bytes() == (trained_dir / "model.json").read_bytes()
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "propscan analyze article.txt --model tiny-plus" in readme
    assert "# Model card: propscan-baseline" in readme
    assert (root / "propscan_model_backend.py").read_bytes() == Path(backend.__file__).read_bytes()


def test_pip_installed_the_package_with_a_valid_record(tiny_package_site: Path) -> None:
    [info] = tiny_package_site.glob("propscan_tiny-*.dist-info")
    entry_points = (info / "entry_points.txt").read_text(encoding="utf-8")
    assert "[propscan.models]\ntiny = propscan_tiny:model_dir" in entry_points
    metadata = (info / "METADATA").read_text(encoding="utf-8")
    assert "Name: propscan-tiny\n" in metadata and "Requires-Dist: propscan>=" in metadata
    recorded = 0
    for line in (info / "RECORD").read_text(encoding="utf-8").splitlines():
        name, digest, size = line.rsplit(",", 2)
        if not digest.startswith("sha256="):
            continue  # RECORD itself, and what pip adds after installing
        data = (tiny_package_site / name).read_bytes()
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        assert (digest, int(size)) == (f"sha256={expected.decode()}", len(data)), name
        recorded += 1
    assert recorded >= 5  # the module, model.json and the weights at least
    assert (tiny_package_site / "propscan_tiny" / "model" / "model.json").is_file()


def test_the_backend_builds_the_same_wheel_from_the_project_and_from_its_sdist(
    trained_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``python -m build`` does: an sdist, then a wheel built from it."""
    write_model_package(trained_dir, "tiny", tmp_path / "pkg")
    monkeypatch.chdir(tmp_path / "pkg")
    assert backend.get_requires_for_build_wheel() == backend.get_requires_for_build_sdist() == []
    (tmp_path / "dist").mkdir()
    wheel = backend.build_wheel(str(tmp_path / "dist"))
    sdist = backend.build_sdist(str(tmp_path / "dist"))
    with tarfile.open(tmp_path / "dist" / sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    [project] = (tmp_path / "unpacked").iterdir()
    assert (project / "PKG-INFO").is_file()
    monkeypatch.chdir(project)
    (tmp_path / "again").mkdir()
    assert backend.build_wheel(str(tmp_path / "again")) == wheel
    first = (tmp_path / "dist" / wheel).read_bytes()
    assert (tmp_path / "again" / wheel).read_bytes() == first  # reproducible
    with zipfile.ZipFile(tmp_path / "dist" / wheel) as archive:
        names = archive.namelist()
    assert "propscan_tiny/model/model.json" in names and "propscan_tiny/__init__.py" in names
    metadata_dir = backend.prepare_metadata_for_build_wheel(str(tmp_path / "meta"))
    assert f"{metadata_dir}/entry_points.txt" in names


@pytest.mark.parametrize("name", ["Mpnet", "default", "mp_net", "-mpnet", "2big", ""])
def test_a_name_that_cannot_name_a_model_is_refused(
    name: str, tiny_model: Path, tmp_path: Path
) -> None:
    with pytest.raises(PropscanError, match="cannot name a model"):
        write_model_package(tiny_model, name, tmp_path / "pkg")
    assert not (tmp_path / "pkg").exists()


def test_a_model_named_as_the_shipped_one_must_be_renamed(tiny_model: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(tiny_model, tmp_path / "copy")
    shipped_name = read_model_config(DEFAULT_MODEL_DIR)["name"]
    write_model_config(copy, {**read_model_config(copy), "name": shipped_name})
    with pytest.raises(PropscanError, match="give it a name of its own with --model-name"):
        write_model_package(copy, "other", tmp_path / "pkg")
    write_model_package(copy, "other", tmp_path / "pkg", model_name="propscan-other")
    packaged = read_model_config(tmp_path / "pkg" / "propscan_other" / "model")
    assert packaged["name"] == "propscan-other"
    assert read_model_config(copy)["name"] == shipped_name  # the source is left alone


def test_a_model_that_does_not_load_or_has_no_package_version_is_refused(
    tiny_model: Path, tmp_path: Path
) -> None:
    broken = shutil.copytree(tiny_model, tmp_path / "broken")
    (broken / "span-model.npz").unlink()
    with pytest.raises(PropscanError, match="files are missing or damaged"):
        write_model_package(broken, "broken", tmp_path / "pkg1")
    assert not (tmp_path / "pkg1").exists()
    odd = shutil.copytree(tiny_model, tmp_path / "odd")
    write_model_config(odd, {**read_model_config(odd), "version": "first try"})
    with pytest.raises(PropscanError, match="'first try' is not a package version"):
        write_model_package(odd, "odd", tmp_path / "pkg2")


def test_package_model_command_and_its_errors(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    command = ["package-model", str(tiny_model), "--name", "tiny", "--out", str(out)]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert f"python -m pip install {out}" in result.stderr and "--model tiny" in result.stderr
    again = runner.invoke(app, command)
    assert again.exit_code == 2
    assert again.stderr.count("\n") == 1 and "already exists" in again.stderr
    missing = runner.invoke(
        app, ["package-model", "no-such-model", "--name", "x", "--out", str(tmp_path / "x")]
    )
    assert missing.exit_code == 2 and "unknown model 'no-such-model'" in missing.stderr
    json.loads((out / "propscan_tiny" / "model" / "model.json").read_text(encoding="utf-8"))


#: The larger model's package, built by ``propscan package-model`` and kept in the tree.
LARGER_PACKAGE = Path(__file__).parents[1] / "models" / "propscan-mpnet"


def test_the_larger_model_package_is_complete_and_better_than_the_default_on_dev() -> None:
    from propscan.core.techniques import PTC_14
    from propscan.evaluation.model_card import model_size_bytes, read_card_summary
    from propscan.examples import sample_text
    from propscan.models.registry import load_detector
    from propscan.pipeline import analyze

    project = tomllib.loads((LARGER_PACKAGE / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["propscan.models"] == {
        "mpnet": "propscan_mpnet:model_dir"
    }
    # pip builds it with the backend it carries: the one this propscan writes
    carried = (LARGER_PACKAGE / "propscan_model_backend.py").read_bytes()
    assert carried == Path(backend.__file__).read_bytes()
    model = LARGER_PACKAGE / "propscan_mpnet" / "model"
    assert model_size_bytes(model) <= 150_000_000
    larger, shipped = read_card_summary(model), read_card_summary(DEFAULT_MODEL_DIR)
    for score in ("si_f1", "tc_micro_f1", "flc_f1"):
        assert larger.scores["dev"][score] > shipped.scores["dev"][score], score
    detector = load_detector(model)
    assert detector.config["quantized"] and tuple(detector.techniques) == tuple(PTC_14)
    text = sample_text()
    analysis = analyze(text, detector).to_dict()
    assert analysis["article_score"]["percentile"] is not None  # its own reference articles
    marks = analysis["spans"]
    assert len({mark["technique"] for mark in marks}) >= 5
    assert all(text[mark["start"] : mark["end"]] == mark["fragment"] for mark in marks)


def test_the_install_hint_works_when_pasted_into_a_shell(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip looks a bare name up on the package index rather than in the working directory:
    a folder there is written ``./NAME`` (``Path`` drops a ``./`` typed before it), and a
    path with a space is quoted."""
    monkeypatch.chdir(tmp_path)
    for out, hint in [
        ("propscan-tiny", "./propscan-tiny"),
        ("./here", "./here"),
        ("my models/tiny", "'my models/tiny'"),
        (str(tmp_path / "absolute"), str(tmp_path / "absolute")),
    ]:
        result = runner.invoke(
            app, ["package-model", str(tiny_model), "--name", "tiny", "--out", out]
        )
        assert result.exit_code == 0, result.output
        assert f"install it with 'python -m pip install {hint}', then" in result.stderr
        [argument] = shlex.split(hint)
        assert "/" in argument  # what pip needs to take it for a folder
        assert Path(argument, "pyproject.toml").is_file()
