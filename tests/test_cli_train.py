"""``propscan train`` end to end: a small baseline run writes a loadable model with a card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from propscan.cli import app
from propscan.models.base import DEFAULT_MODEL_DIR
from propscan.models.registry import load_detector
from propscan.ptc.splits import load_split

runner = CliRunner()


def test_train_baseline_writes_model_and_card(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "model"
    result = runner.invoke(
        app,
        [
            "train",
            "--baseline",
            "--out",
            str(out),
            "--data",
            str(data_dir),
            "--max-articles",
            "8",
            "--no-evaluate-dev",
            "--no-progress",
            "--name",
            "my-outlets",
            "--version",
            "1.0",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["model"] == str(out)
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "my-outlets" in card and "train articles | 8" in card
    facts = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert facts["kind"] == "baseline" and facts["size_bytes"] > 0
    detector = load_detector(out)
    assert detector.predict(["They are traitors and liars!"])[0] is not None
    assert (detector.name, detector.version) == ("my-outlets", "1.0")


def test_train_writes_over_nothing_but_its_own_kind_of_run(tmp_path: Path, data_dir: Path) -> None:
    """Another model, or a folder of other files, in --out is refused, not overwritten;
    the same command again redoes its own run."""
    args = ["train", "--baseline", "--data", str(data_dir), "--max-articles", "6"]
    args += ["--no-evaluate-dev", "--no-progress"]
    mine = tmp_path / "mine"
    assert runner.invoke(app, [*args, "--out", str(mine)]).exit_code == 0
    assert runner.invoke(app, [*args, "--out", str(mine)]).exit_code == 0  # redone
    other = tmp_path / "other"
    shutil.copytree(DEFAULT_MODEL_DIR, other)  # a transformer model
    refused = runner.invoke(app, [*args, "--out", str(other)])
    assert refused.exit_code == 2
    assert "holds a transformer model, which training would overwrite" in refused.stderr
    assert load_detector(other).name == "propscan-minilm"  # untouched
    files = tmp_path / "files"
    (files / "baseline").mkdir(parents=True)
    (files / "baseline" / "notes.txt").write_text("mine", encoding="utf-8")
    refused = runner.invoke(app, [*args, "--out", str(files)])
    assert refused.exit_code == 2 and "holds files of its own" in refused.stderr
    assert (files / "baseline" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_train_refuses_a_missing_corpus(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["train", "--out", str(tmp_path / "m"), "--data", str(tmp_path / "nope")]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_train_refuses_an_encoder_directory_without_a_tokenizer(
    tmp_path: Path, data_dir: Path
) -> None:
    result = runner.invoke(
        app,
        [
            "train",
            "--out",
            str(tmp_path / "m"),
            "--data",
            str(data_dir),
            "--encoder",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "tokenizer.json" in result.output


def test_train_baseline_on_ptc_and_memes_fits_memes_and_holds_out_ptc(
    tmp_path: Path, data_dir: Path, memes_dir: Path
) -> None:
    out = tmp_path / "model"
    args = ["train", "--baseline", "--out", str(out), "--data", str(data_dir)]
    args += ["--data", str(memes_dir), "--meme-split", "train", "--meme-split", "test"]
    result = runner.invoke(app, [*args, "--unmapped", "unlabelled", "--no-progress"])
    assert result.exit_code == 0, result.output
    facts = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert facts["data"]["memes"].startswith("7 SemEval-2021 Task 6 meme texts in the training")
    assert "(splits train, test; " in facts["data"]["memes"]
    assert "outside the 14: unlabelled) for fitting only" in facts["data"]["memes"]
    ptc_articles = len(load_split(data_dir, "train").articles)
    assert facts["data"]["train articles"] == ptc_articles  # meme texts are counted apart
    assert "dev" in facts["scores"]  # from the first corpus: PTC dev
    assert load_detector(out).predict(["WAKE UP PEOPLE! They lied."])[0] is not None


def test_train_on_memes_alone_is_refused(tmp_path: Path, memes_dir: Path) -> None:
    args = ["train", "--baseline", "--out", str(tmp_path / "m"), "--data", str(memes_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "memes are for fitting only" in result.stderr and "add a PTC corpus" in result.stderr


def test_recipe_settings_are_checked_by_name_and_value(tmp_path: Path, data_dir: Path) -> None:
    base = ["train", "--data", str(data_dir), "--out", str(tmp_path / "m"), "--no-progress"]
    cases = {
        ("--setting", "bogus=1"): "unknown training setting 'bogus'",
        ("--setting", "epochs"): "expected KEY=VALUE",
        ("--setting", "epochs=six"): "not a number",
        ("--setting", "technique_balance=2.0"): "technique_balance=2.0 is invalid",
        ("--kind", "baseline", "--setting", "epochs=2"): "the baseline has no training setting",
        ("--device", "tpu"): "unknown device 'tpu'",
        ("--name", "my model/2"): "--name 'my model/2': use up to 64 letters",
        ("--teacher", str(tmp_path)): "no model there (no model.json)",
        ("--kind", "baseline", "--teacher", str(DEFAULT_MODEL_DIR)): "learns from gold alone",
        ("--setting", "teacher_share=1.5"): "teacher_share=1.5 is invalid",
        ("--setting", "teachers=['x']"): "with --teacher DIR, not as a setting",
    }
    for extra, message in cases.items():
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output, (extra, result.output)
