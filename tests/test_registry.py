"""Naming a model: the shipped one, installed model packages (entry points), directories.

The ``tiny`` package is the tiny model written by ``propscan package-model`` and installed
by pip, offline, into a folder that the test puts on ``sys.path``; broken packages are
written as pip would leave them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.model_packages import offer_model_directory, write_installed_package

import propscan
from propscan.errors import PropscanError
from propscan.models.base import DEFAULT_MODEL_DIR, read_model_config, write_model_config
from propscan.models.registry import (
    describe_model,
    find_installed,
    installed_models,
    model_directory,
    model_reference,
    resolve_model,
)
from propscan.pipeline import analyze


def test_an_installed_package_is_found_through_its_entry_point(
    tiny_package: str, tiny_model: Path
) -> None:
    shipped, tiny = installed_models()
    assert (shipped.name, shipped.package, shipped.directory) == (
        "default",
        None,
        DEFAULT_MODEL_DIR,
    )
    version = read_model_config(tiny_model)["version"]
    assert (tiny.name, tiny.package, tiny.problem) == (
        tiny_package,
        f"propscan-tiny {version}",
        None,
    )
    assert tiny.directory is not None and tiny.directory.name == "model"
    assert tiny.description == describe_model(tiny_model) == describe_model(tiny_package)
    assert model_directory(tiny_package) == tiny.directory
    detector = resolve_model(tiny_package)
    assert detector is resolve_model(tiny_package) is resolve_model(tiny.directory)
    assert propscan.load_model(tiny_package) is detector
    text = "They are traitors and liars, all of them! Shameful, corrupt elites."
    assert analyze(text, tiny_package, threshold=0.2) == analyze(text, tiny_model, threshold=0.2)


def test_a_model_is_also_found_by_the_name_its_model_json_gives(tiny_package: str) -> None:
    tiny = find_installed(tiny_package)
    assert tiny is not None and tiny.description is not None
    assert model_directory(tiny.description.name) == tiny.directory
    shipped_name = describe_model(None).name
    assert model_directory(shipped_name) == model_directory("default") == DEFAULT_MODEL_DIR
    assert model_directory(None) == DEFAULT_MODEL_DIR


def test_other_processes_get_a_name_or_an_absolute_path(
    tiny_package: str, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert model_reference(None) is None and model_reference("default") is None
    assert model_reference(describe_model(None).name) is None
    assert model_reference(tiny_package) == tiny_package
    monkeypatch.chdir(tiny_model.parent)
    assert model_reference(tiny_model.name) == str(tiny_model.resolve())
    assert model_reference(Path(tiny_model.name)) == str(tiny_model.resolve())


def test_an_unknown_name_is_an_error_listing_the_installed_models(tiny_package: str) -> None:
    message = (
        r"unknown model 'no-such-model'; installed: default \(propscan-minilm [\d.]+\), "
        r"tiny \(propscan-baseline [\d.]+\) \(see 'propscan models'\), or give a model directory"
    )
    for call in (resolve_model, describe_model, model_directory):
        with pytest.raises(PropscanError, match=message):
            call("no-such-model")


def test_a_name_comes_before_a_directory_of_that_name(
    tiny_package: str, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(tiny_model, tmp_path / tiny_package)
    shutil.copytree(tiny_model, tmp_path / "mine")
    monkeypatch.chdir(tmp_path)
    assert model_directory(tiny_package) == find_installed(tiny_package).directory  # type: ignore[union-attr]
    assert model_directory(f"./{tiny_package}") == Path(f"./{tiny_package}")
    assert model_directory("mine") == Path("mine")  # no model has that name: the directory


def test_broken_packages_are_listed_with_their_problem_and_refused_by_name(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    write_installed_package(site, "gone", "propscan_gone:model_dir")  # its module is missing
    offer_model_directory(site, "hollow", tmp_path / "hollow")  # no model there
    offer_model_directory(site, "default", tiny_model)  # the shipped model's name
    for distribution in ("propscan-twice-a", "propscan-twice-b"):
        write_installed_package(
            site, "twice", "propscan_twice:MODEL", distribution=distribution, body="MODEL = '.'\n"
        )
    write_installed_package(
        site, "plain", "propscan_plain:MODEL_DIR", body=f"MODEL_DIR = {str(tiny_model)!r}\n"
    )
    monkeypatch.syspath_prepend(str(site))
    listed = {(model.name, model.package): model for model in installed_models()}
    problems = {key: model.problem for key, model in listed.items() if model.problem}
    assert problems.keys() == {
        ("gone", "propscan-gone 1.0"),
        ("hollow", "propscan-hollow 1.0"),
        ("default", "propscan-default 1.0"),
        ("twice", "propscan-twice-a 1.0"),
        ("twice", "propscan-twice-b 1.0"),
    }
    assert "No module named 'propscan_gone'" in problems["gone", "propscan-gone 1.0"]
    assert "not a propscan model directory" in problems["hollow", "propscan-hollow 1.0"]
    assert "kept for the shipped model" in problems["default", "propscan-default 1.0"]
    assert "offered by 2 packages" in problems["twice", "propscan-twice-a 1.0"]
    for name in ("gone", "hollow", "twice"):
        with pytest.raises(PropscanError, match=f"model package 'propscan-{name}.*is broken"):
            resolve_model(name)
    assert model_directory("default") == DEFAULT_MODEL_DIR
    # an entry point may name the directory itself instead of a function returning it
    assert model_directory("plain") == tiny_model


def test_a_model_is_loaded_once_per_directory_and_again_when_it_changes(
    tiny_model: Path, tmp_path: Path
) -> None:
    copy = shutil.copytree(tiny_model, tmp_path / "model")
    first = resolve_model(copy)
    assert resolve_model(str(copy)) is first is resolve_model(tmp_path / "." / "model")
    write_model_config(copy, {**read_model_config(copy), "version": "9.9.9"})
    again = resolve_model(copy)
    assert again is not first and again.version == "9.9.9"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(max_size=30))
@example(name="~no-such-user/model")  # a home directory that cannot be found
@example(name="")
@example(name="/\x00")  # a path no system can look up
def test_any_name_names_a_model_or_is_a_clear_error(name: str) -> None:
    """Whatever a user types after --model, the answer is a model or a PropscanError."""
    try:
        detector = resolve_model(name)
    except PropscanError as error:
        assert str(error)
    else:
        assert detector.name


def test_training_without_the_train_extra_says_what_to_install(tmp_path: Path) -> None:
    """A plain install has no torch: training is one clear error, not a bug."""
    missing = tmp_path / "torch"
    missing.mkdir()
    (missing / "__init__.py").write_text(  # shadows torch as an install without it
        "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n"
    )
    script = (
        "from propscan.errors import PropscanError\n"
        "from propscan.models.registry import trainer\n"
        "try:\n"
        "    trainer('transformer')\n"
        "except PropscanError as error:\n"
        "    print(error)\n"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment
    )
    assert done.stdout.strip() == (
        "training needs the 'train' extra (torch is not installed): pip install 'propscan[train]'"
    ), done.stderr
