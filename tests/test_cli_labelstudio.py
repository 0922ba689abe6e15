"""``propscan export labelstudio``, ``propscan corpus import labelstudio`` and training on the
imported corpus next to another one (``propscan train --data A --data B``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from propscan.cli import app
from propscan.core.analysis import Analysis, ModelInfo
from propscan.core.spans import Span
from propscan.ptc.splits import load_split

runner = CliRunner()
MINI = Path(__file__).parent / "fixtures" / "corpus" / "mini"
TEXT = "They are TRAITORS and liars 🙂, all of them!\nShame on them."


def run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(arg) for arg in args])


@pytest.fixture
def analysis_file(tmp_path: Path) -> Path:
    traitors = TEXT.index("TRAITORS")
    analysis = Analysis(
        text=TEXT,
        spans=(
            Span(traitors, traitors + 8, "Name_Calling,Labeling", 0.8),
            Span(TEXT.index("Shame"), len(TEXT) - 1, "Loaded_Language", 0.4),
        ),
        sentences=(),
        model=ModelInfo("fixed", "0"),
    )
    path = tmp_path / "article77.json"
    path.write_text(json.dumps(analysis.to_dict()), encoding="utf-8")
    return path


def annotate(tasks_file: Path, export_file: Path) -> list[dict]:
    """Accept every pre-annotation, as an annotator in Label Studio would, and export."""
    tasks = json.loads(tasks_file.read_text(encoding="utf-8"))
    for number, task in enumerate(tasks, start=1):
        task["id"] = number
        task["annotations"] = [{"id": number, "result": task["predictions"][0]["result"]}]
    export_file.write_text(json.dumps(tasks), encoding="utf-8")
    return tasks


def test_config_is_printed_and_validated() -> None:
    result = run("export", "labelstudio", "--config", "--validate")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<View>") and result.stdout.count("<Label ") == 14


def test_export_import_and_train_on_two_corpora(analysis_file: Path, tmp_path: Path) -> None:
    tasks_file = tmp_path / "tasks.json"
    result = run("export", "labelstudio", analysis_file, "--out", tasks_file, "--validate")
    assert result.exit_code == 0, result.output
    assert "Wrote 1 tasks with 2 pre-annotated spans" in result.stderr
    tasks = annotate(tasks_file, tmp_path / "export.json")
    assert tasks[0]["data"]["article_id"] == "article77"

    result = run(
        "corpus", "import", "labelstudio", tmp_path / "export.json", "--out", tmp_path / "c"
    )
    assert result.exit_code == 0, result.output
    split = load_split(tmp_path / "c", "train")
    assert split.by_id["article77"].text == TEXT
    assert [(s.start, s.end, s.technique) for s in split.gold["article77"]] == [
        (9, 17, "Name_Calling,Labeling"),
        (TEXT.index("Shame"), len(TEXT) - 1, "Loaded_Language"),
    ]

    out = tmp_path / "model"
    args = ["--baseline", "--out", out, "--no-evaluate-dev", "--no-progress"]
    result = run("train", "--data", MINI, "--data", tmp_path / "c", *args)
    assert result.exit_code == 0, result.output
    facts = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert facts["data"]["train articles"] == len(load_split(MINI, "train").articles) + 1
    assert str(tmp_path / "c") in facts["data"]["corpora"]


def test_import_renames_ids_that_cannot_be_file_names(tmp_path: Path) -> None:
    result = {"from_name": "technique", "to_name": "text", "type": "labels"}
    result["value"] = {"start": 0, "end": 4, "labels": ["Loaded_Language"]}
    task = {"id": 1, "data": {"text": "Evil plans.", "article_id": "cnn.2024-05-31"}}
    task["annotations"] = [{"result": [result]}]
    (tmp_path / "export.json").write_text(json.dumps([task]), encoding="utf-8")
    imported = run(
        "corpus", "import", "labelstudio", tmp_path / "export.json", "--out", tmp_path / "c"
    )
    assert imported.exit_code == 0, imported.output
    assert (
        "Renamed 1 article ids that cannot be PTC file names: 'cnn.2024-05-31' -> "
        "'cnn_2024-05-31'" in imported.stderr
    )
    assert load_split(tmp_path / "c", "train").by_id["cnn_2024-05-31"].text == "Evil plans."


def test_export_to_stdout(analysis_file: Path) -> None:
    result = run("export", "labelstudio", analysis_file)
    assert result.exit_code == 0, result.output
    [task] = json.loads(result.stdout)
    assert task["data"]["text"] == TEXT


def test_training_refuses_one_id_with_two_texts(tmp_path: Path) -> None:
    task = {"id": 1, "data": {"text": "Another text.", "article_id": "1001"}, "annotations": [{}]}
    task["annotations"][0]["result"] = []
    (tmp_path / "export.json").write_text(json.dumps([task]), encoding="utf-8")
    imported = run(
        "corpus", "import", "labelstudio", tmp_path / "export.json", "--out", tmp_path / "c"
    )
    assert imported.exit_code == 0, imported.output
    result = run(
        "train",
        "--baseline",
        "--data",
        MINI,
        "--data",
        tmp_path / "c",
        "--out",
        tmp_path / "m",
        "--no-evaluate-dev",
        "--no-progress",
    )
    assert result.exit_code == 2
    assert "article '1001' is in" in result.stderr and "different texts" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "labelstudio"], "give a 'propscan batch' results directory or analyses"),
        (["export", "labelstudio", "missing.json"], "missing.json: no such file or directory"),
        (["export", "labelstudio", "--config", "x.json"], "give no results with it"),
        (["corpus", "import", "labelstudio", "missing.json", "--out", "c"], "cannot read file"),
        (
            ["corpus", "import", "labelstudio", "EXPORT", "--out", "c", "--split", "test"],
            "unknown split 'test'",
        ),
    ],
)
def test_errors_are_one_line_with_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "EXPORT").write_text("[]", encoding="utf-8")
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_offsets_that_do_not_match_are_reported_with_task_and_result(
    analysis_file: Path, tmp_path: Path
) -> None:
    run("export", "labelstudio", analysis_file, "--out", tmp_path / "tasks.json")
    tasks = annotate(tmp_path / "tasks.json", tmp_path / "export.json")
    tasks[0]["annotations"][0]["result"][1]["value"]["start"] += 2
    (tmp_path / "export.json").write_text(json.dumps(tasks), encoding="utf-8")
    result = run(
        "corpus", "import", "labelstudio", tmp_path / "export.json", "--out", tmp_path / "c"
    )
    assert result.exit_code == 2
    assert "task 1 (article article77), annotation result 1: offsets" in result.stderr
    assert not (tmp_path / "c").exists()
