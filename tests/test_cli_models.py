"""``propscan models``, and ``--model NAME|DIR`` in every command that runs a model.

The ``tiny`` model package (the tiny model, packaged and installed by pip) must give each
command exactly what the tiny model's directory gives, and an unknown name must be one
line listing the installed models, with exit status 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.model_packages import write_installed_package
from typer.testing import CliRunner, Result

from propscan.cli import app
from propscan.cli import models as models_cli
from propscan.evaluation.speed import MeasuredSpeed
from propscan.models.base import read_model_config

runner = CliRunner(env={"COLUMNS": "100"})
PTC = Path(__file__).parent / "fixtures" / "ptc"


def run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(arg) for arg in args])


def _json(result: Result, out: Path) -> Any:
    return json.loads(result.stdout)


def _file(name: str) -> Callable[[Result, Path], str]:
    return lambda result, out: (out / name).read_text(encoding="utf-8")


def _manifest(result: Result, out: Path) -> Any:
    return json.loads((out / "batch.json").read_text(encoding="utf-8"))["model"]


def _evaluation(result: Result, out: Path) -> Any:
    scores = json.loads(result.stdout)
    return scores["model"], scores["summary"], (out / "flc.labels").read_text(encoding="utf-8")


def _tasks(tmp_path: Path) -> Path:
    """Label Studio tasks holding the tiny model's predictions for the sample article."""
    tasks = tmp_path / "tasks.json"
    analysis = tmp_path / "sample.json"
    assert run("analyze", "--example", "--format", "json", "--out", analysis).exit_code == 0
    assert run("export", "labelstudio", analysis, "--out", tasks).exit_code == 0
    return tasks


def _analyze(out: Path, tmp: Path) -> list[Any]:
    return ["analyze", "--example", "--format", "json"]


def _batch(out: Path, tmp: Path) -> list[Any]:
    return ["batch", PTC / "dev-articles", "--out", out, "--no-progress"]


def _evaluate(out: Path, tmp: Path) -> list[Any]:
    return ["evaluate", "--data", PTC, "--out", out, "--format", "json", "--no-progress"]


def _classify(out: Path, tmp: Path) -> list[Any]:
    spans = PTC / "dev-task-flc-tc.labels"
    return ["classify", "--articles", PTC / "dev-articles", "--spans", spans, "--out", out / "tc"]


def _techniques(out: Path, tmp: Path) -> list[Any]:
    return ["techniques", "--format", "json"]


def _export_config(out: Path, tmp: Path) -> list[Any]:
    return ["export", "labelstudio", "--config", "--out", out / "config.xml"]


def _import_tasks(out: Path, tmp: Path) -> list[Any]:
    return ["corpus", "import", "labelstudio", _tasks(tmp), "--use-predictions", "--out", out]


#: command -> (its arguments before --model, given an output path and a scratch folder;
#: what of its result must not depend on how the model is named)
COMMANDS: dict[str, tuple[Callable[[Path, Path], list[Any]], Callable[[Result, Path], Any]]] = {
    "analyze": (_analyze, _json),
    "batch": (_batch, _manifest),
    "evaluate": (_evaluate, _evaluation),
    "classify": (_classify, _file("tc")),
    "techniques": (_techniques, _json),
    "export labelstudio": (_export_config, _file("config.xml")),
    "corpus import labelstudio": (_import_tasks, _file("train-task-flc-tc.labels")),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_a_model_by_name_or_directory(
    command: str, tiny_package: str, tiny_model: Path, tmp_path: Path
) -> None:
    arguments, outcome = COMMANDS[command]
    outcomes = []
    for how, model in (("name", tiny_package), ("directory", tiny_model)):
        out = tmp_path / how
        result = run(*arguments(out, tmp_path / f"{how}-scratch"), "--model", model)
        assert result.exit_code == 0, result.output
        outcomes.append(outcome(result, out))
    assert outcomes[0] == outcomes[1]
    if command in ("analyze", "batch", "evaluate"):  # what names the model that made it
        named = outcomes[0] if command != "evaluate" else outcomes[0][0]
        model = named["model"] if command == "analyze" else named
        config = read_model_config(tiny_model)
        assert (model["name"], model["version"]) == (config["name"], config["version"])


@pytest.mark.parametrize("command", [*COMMANDS, "serve"])
def test_an_unknown_model_is_one_line_listing_the_installed_ones(
    command: str, tiny_package: str, tmp_path: Path
) -> None:
    arguments = ["serve", "--port", "0"] if command == "serve" else None
    if arguments is None:
        arguments = COMMANDS[command][0](tmp_path / "out", tmp_path)
    result = run(*arguments, "--model", "no-such-model")
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert "unknown model 'no-such-model'; installed: default (propscan-minilm" in result.stderr
    assert f"{tiny_package} (propscan-baseline" in result.stderr


def test_serve_hands_workers_the_model_by_name_or_absolute_path(
    tiny_package: str, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from propscan.service import serving

    started: list[tuple[Any, Any]] = []
    monkeypatch.setattr(
        serving,
        "run_server",
        lambda listener, options, workers, detector, limits: started.append((options, detector)),
    )
    monkeypatch.chdir(tiny_model.parent)
    for model, reference in ((tiny_package, tiny_package), (tiny_model.name, str(tiny_model))):
        result = run("serve", "--port", "0", "--db", tmp_path / "h.db", "--model", model)
        assert result.exit_code == 0, result.output
        options, detector = started.pop()
        assert options.model == reference
        assert f"model {detector.name} {detector.version}" in result.stderr


def test_models_lists_the_shipped_and_installed_models(tiny_package: str) -> None:
    table = run("models")
    assert table.exit_code == 0, table.output
    assert "default*" in table.stdout and "propscan-minilm" in table.stdout
    assert tiny_package in table.stdout and "propscan-baseline" in table.stdout
    listing = run("models", "--format", "json")
    payload = json.loads(listing.stdout)
    assert payload["schema_version"] == 1
    # other packages a user installed (the larger model) may be listed too
    by_name = {model["name"]: model for model in payload["models"]}
    shipped, tiny = by_name["default"], by_name[tiny_package]
    assert payload["models"][0] is shipped
    assert shipped["name"] == "default" and shipped["default"] is True
    assert shipped["package"] is None and shipped["size_bytes"] > 1_000_000
    assert shipped["articles_per_second"] > 0
    assert set(shipped["scores"]["dev"]) == {"si_f1", "tc_micro_f1", "flc_f1"}
    assert len(shipped["model"]["techniques"]) == 14
    assert tiny["name"] == tiny_package and tiny["default"] is False
    assert tiny["package"].startswith("propscan-tiny ") and tiny["scores"] == {}
    assert Path(tiny["directory"], "model.json").is_file()


def test_measure_times_each_model_on_this_machine(tiny_package: str) -> None:
    listing = run("models", "--measure", "--format", "json")
    assert listing.exit_code == 0, listing.output
    by_name = {model["name"]: model for model in json.loads(listing.stdout)["models"]}
    shipped, tiny = by_name["default"]["measured"], by_name[tiny_package]["measured"]
    assert shipped["characters_per_second"] > 0 and shipped["articles_per_second"] > 0
    assert "CPUs" in shipped["machine"]
    assert tiny["characters_per_second"] > 0
    assert tiny["articles_per_second"] is None  # its card gives no speed to compare with
    assert f"Timing {tiny_package} on the sample article" in listing.stderr


def _timed_or_failing(failing: str) -> Callable[[Any, Any], MeasuredSpeed]:
    """A stand-in for ``measure_speed``: 2.5 articles/s, or an error for one model."""

    def measure(detector: Any, card: Any) -> MeasuredSpeed:
        if detector.name == failing:
            raise RuntimeError("the weights are missing")
        return MeasuredSpeed(12_000.0, 2.5, "a test machine")

    return measure


def test_a_model_that_cannot_be_timed_is_said_under_the_table(
    tiny_package: str, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny_name = read_model_config(tiny_model)["name"]
    monkeypatch.setattr(models_cli, "measure_speed", _timed_or_failing(tiny_name))
    table = run("models", "--measure")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    heading = next(line for line in lines if "name" in line and "model" in line)
    assert "art./s" in heading and "here" in heading
    [shipped] = [line for line in lines if line.startswith("│ default*")]
    assert "2.5" in shipped
    [tiny] = [line for line in lines if tiny_package in line and "│" in line]
    assert "failed" in tiny
    text = " ".join(table.stdout.split())
    assert "timed on this machine (a test machine)" in text
    assert f"{tiny_package}: it could not be timed: the weights are missing" in text
    listing = json.loads(run("models", "--measure", "--format", "json").stdout)
    by_name = {model["name"]: model for model in listing["models"]}
    assert by_name[tiny_package]["measured"] == {
        "problem": "it could not be timed: the weights are missing"
    }
    assert "problem" not in by_name[tiny_package]  # the model itself is usable
    assert "here" not in next(line for line in run("models").stdout.splitlines() if "name" in line)


def test_a_broken_package_is_listed_with_its_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_installed_package(tmp_path, "gone", "propscan_gone:model_dir")
    monkeypatch.syspath_prepend(str(tmp_path))
    table = run("models")
    assert table.exit_code == 0 and "gone" in table.stdout and "broken" in table.stdout
    [broken] = [
        m
        for m in json.loads(run("models", "--format", "json").stdout)["models"]
        if m["name"] == "gone"
    ]
    assert broken["problem"].startswith("model package 'propscan-gone 1.0' is broken")
    used = run("analyze", "--example", "--model", "gone")
    assert used.exit_code == 2 and "is broken" in used.stderr


def test_a_long_problem_is_said_under_the_table_not_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a column, one long problem would squeeze every other column to nothing."""
    reason = "the weights were never downloaded; " * 6 + "run the package's setup again"
    body = f"raise RuntimeError({reason!r})\n"
    write_installed_package(tmp_path, "verbose", "propscan_verbose:model_dir", body=body)
    monkeypatch.syspath_prepend(str(tmp_path))
    table = run("models")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100  # COLUMNS
    heading = next(line for line in lines if "name" in line and "model" in line)
    for column in ("MB", "art./s", "SI F1", "TC F1", "FLC F1"):
        assert column in heading
    [row] = [line for line in lines if "verbose" in line and "│" in line]
    assert "broken, see below" in row
    below = " ".join(" ".join(lines[lines.index(row) + 1 :]).split())
    assert "verbose: model package 'propscan-verbose 1.0' is broken:" in below
    assert "run the package's setup again" in below
