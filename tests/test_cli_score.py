"""``propscan score si|tc|flc``: JSON and table output, refusals with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from propscan.cli import app
from propscan.core.techniques import TECHNIQUES

FIXTURES = Path(__file__).parent / "fixtures" / "scoring"
GOLD = FIXTURES / "gold.labels"

runner = CliRunner(env={"COLUMNS": "100"})  # tables and help wrap at the terminal width


def score(task: str, pred: Path, *extra: str, gold: Path = GOLD) -> tuple[int, str, str]:
    result = runner.invoke(app, ["score", task, "--gold", str(gold), "--pred", str(pred), *extra])
    return result.exit_code, result.stdout, result.stderr


def score_json(task: str, pred: Path, gold: Path = GOLD) -> dict[str, object]:
    exit_code, stdout, stderr = score(task, pred, "--format", "json", gold=gold)
    assert exit_code == 0, stderr
    return json.loads(stdout)


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def gold_lines() -> list[str]:
    return GOLD.read_text(encoding="utf-8").splitlines()


def test_si_json_accepts_three_and_four_column_files() -> None:
    # values checked by hand in test_scoring.py (test_merged_and_split_predictions)
    from_flc = score_json("si", FIXTURES / "pred-merged.labels")
    assert from_flc["schema_version"] == 1 and from_flc["task"] == "si"
    assert from_flc["precision"] == pytest.approx(1.0)
    assert from_flc["recall"] == pytest.approx(1 / 3)
    assert from_flc["f1"] == pytest.approx(0.5)
    assert (from_flc["predicted_count"], from_flc["gold_count"]) == (3, 6)
    four = score_json("si", FIXTURES / "pred-partial.labels")
    three = score_json("si", FIXTURES / "pred-partial-si.labels")
    assert four == three


def test_flc_json_has_per_technique_scores() -> None:
    result = score_json("flc", FIXTURES / "pred-merged.labels")
    assert result["f1"] == pytest.approx(0.4)
    per_technique = result["per_technique"]
    assert list(per_technique) == list(TECHNIQUES)
    assert per_technique["Doubt"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "predicted_count": 1,
        "gold_count": 1,
    }


def test_tc_json_micro_f1_and_support() -> None:
    result = score_json("tc", FIXTURES / "pred-tc-wrong.labels")
    assert (result["micro_f1"], result["correct"], result["total"]) == (0.625, 5, 8)
    name_calling = result["per_technique"]["Name_Calling,Labeling"]
    assert (name_calling["predicted_count"], name_calling["gold_count"]) == (2, 1)
    assert score_json("tc", FIXTURES / "pred-tc-reordered.labels")["micro_f1"] == 1.0


@pytest.mark.parametrize(
    ("task", "pred", "expected"),
    [
        ("si", "pred-merged.labels", ["all spans", "1.0000", "0.3333", "0.5000"]),
        ("flc", "pred-merged.labels", ["all techniques", "Doubt", "0.2500", "0.4000"]),
        ("tc", "pred-tc-wrong.labels", ["5 of 8 labels right", "micro average", "0.6250"]),
    ],
)
def test_table_output(task: str, pred: str, expected: list[str]) -> None:
    exit_code, stdout, _ = score(task, FIXTURES / pred)
    assert exit_code == 0
    for text in expected:
        assert text in stdout


def test_empty_prediction_file_scores_zero() -> None:
    result = score_json("flc", FIXTURES / "pred-empty.labels")
    assert (result["precision"], result["recall"], result["f1"]) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("task", ["si", "tc", "flc"])
def test_an_empty_gold_file_is_refused(task: str) -> None:
    exit_code, stdout, stderr = score(task, GOLD, gold=FIXTURES / "pred-empty.labels")
    assert exit_code == 2 and stdout == ""
    assert "pred-empty.labels: no labels to score; pass a gold file with spans" in stderr


def test_si_ignores_the_techniques_of_four_column_files(tmp_path: Path) -> None:
    """Any technique name, one of PTC's 18 or none at all, as the help says."""
    lines = [line.split("\t") for line in gold_lines()]
    renamed = write(
        tmp_path, "pred.labels", [f"{i}\tNot_A_Technique\t{s}\t{e}" for i, _, s, e in lines]
    )
    assert score_json("si", renamed)["f1"] == pytest.approx(1.0)
    old = [
        "\t".join((i, "Obfuscation,Intentional_Vagueness,Confusion", s, e)) for i, _, s, e in lines
    ]
    assert score_json("si", write(tmp_path, "old.labels", old))["f1"] == pytest.approx(1.0)


def test_malformed_line_is_refused_with_file_and_line(tmp_path: Path) -> None:
    pred = write(tmp_path, "pred.labels", [*gold_lines()[:2], "738361208\tDoubt\t669"])
    exit_code, stdout, stderr = score("flc", pred)
    assert exit_code == 2 and stdout == ""
    assert f"{pred}:3: expected 4 tab-separated columns" in stderr
    assert "Traceback" not in stderr


def test_unknown_technique_is_refused(tmp_path: Path) -> None:
    pred = write(tmp_path, "pred.labels", ["738361208\tPropaganda\t669\t821"])
    exit_code, _, stderr = score("tc", pred)
    assert exit_code == 2
    assert f"{pred}:1: unknown technique 'Propaganda'" in stderr


def test_si_with_bad_offsets_is_refused(tmp_path: Path) -> None:
    pred = write(tmp_path, "pred.labels", ["738361208\t669\t821", "738361208\t900\t800"])
    exit_code, _, stderr = score("si", pred)
    assert exit_code == 2
    assert f"{pred}:2: start offset 900 is not before end offset 800" in stderr


def test_tc_extra_line_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = gold_lines()
    pred = write(
        tmp_path, "pred.labels", [*lines[:4], lines[3].replace("Doubt", "Slogans"), *lines[4:]]
    )
    exit_code, _, stderr = score("tc", pred)
    assert exit_code == 2
    assert f"{pred}:4: span 738361208 669-821 has 2 line(s) here but 1 in {GOLD}" in stderr
    assert "exactly the gold spans" in stderr


def test_tc_missing_span_names_the_gold_line(tmp_path: Path) -> None:
    lines = gold_lines()
    pred = write(tmp_path, "pred.labels", lines[:-1])
    exit_code, _, stderr = score("tc", pred)
    assert exit_code == 2
    assert f"{pred}: span 730269378 718-723 of {GOLD}:8 is missing" in stderr


def test_tc_shifted_span_is_refused(tmp_path: Path) -> None:
    pred = write(tmp_path, "pred.labels", [*gold_lines()[:-1], "730269378\tDoubt\t718\t724"])
    exit_code, _, stderr = score("tc", pred)
    assert exit_code == 2
    assert "730269378 718-723" in stderr


def test_missing_file_is_refused(tmp_path: Path) -> None:
    exit_code, _, stderr = score("si", tmp_path / "absent.labels")
    assert exit_code == 2
    assert "absent.labels: cannot read file" in stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["score", "--help"], ["si", "tc", "flc", "SemEval-2020"]),
        (["score", "tc", "--help"], ["--gold", "--pred", "--format", "TECHNIQUE"]),
        (["score", "flc", "--help"], ["--gold", "--pred", "merged"]),
    ],
)
def test_help(args: list[str], expected: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    for text in expected:
        assert text in result.stdout


def test_si_help_documents_four_column_files() -> None:
    result = runner.invoke(app, ["score", "si", "--help"])
    assert "4-column" in result.stdout
