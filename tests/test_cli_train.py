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


def test_recipe_settings_are_checked_by_name_and_value(
    tmp_path: Path, data_dir: Path, tiny_model: Path
) -> None:
    base = ["train", "--data", str(data_dir), "--out", str(tmp_path / "m"), "--no-progress"]
    teacher = "a teacher must be a transformer model made by 'propscan train'"
    cases = {
        ("--setting", "bogus=1"): "unknown training setting 'bogus'",
        ("--setting", "epochs"): "expected KEY=VALUE",
        ("--setting", "epochs=six"): "not a number",
        ("--setting", "technique_balance=2.0"): "technique_balance=2.0 is invalid",
        ("--kind", "baseline", "--setting", "epochs=2"): "--setting is for --kind transformer",
        ("--device", "tpu"): "unknown device 'tpu'",
        ("--name", "my model/2"): "--name 'my model/2': use up to 64 letters",
        ("--teacher", str(tmp_path)): f"with no model in it (no model.json); {teacher}",
        ("--teacher", str(tmp_path / "nope")): f"nope does not exist; {teacher}",
        ("--teacher", str(tiny_model)): f"is a baseline model; {teacher}",
        ("--kind", "baseline", "--teacher", str(DEFAULT_MODEL_DIR)): "--teacher is for",
        ("--setting", "teacher_share=1.5"): "teacher_share=1.5 is invalid",
        ("--setting", "teachers=['x']"): "with --teacher DIR, not as a setting",
        ("--setting", "refit=maybe"): "'refit=maybe': the value is not a number, a quoted "
        "string or one of true, false, yes, no",
        ("--setting", "refit=2"): "refit=2 is invalid: give true, false, yes, no, 1 or 0",
        ("--setting", "quantize='nope'"): "quantize='nope' is invalid: give true, false",
    }
    for extra, message in cases.items():
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output, (extra, result.output)


def test_yes_or_no_settings_are_read_strictly() -> None:
    """``--setting refit=no`` (or ``=False``, ``=0``, ``='no'``) is false: a setting read
    by truthiness would take any non-empty word for true."""
    from propscan.cli.train import _parsed_settings
    from propscan.models.transformer.recipe import TrainingSettings

    for word, meant in [("False", False), ("no", False), ("NO", False), ("0", False),
                        ("'no'", False), ("false", False), ("True", True), ("yes", True),
                        ("1", True), ("TRUE", True)]:  # fmt: skip
        settings = TrainingSettings(**_parsed_settings([f"refit={word}", f"quantize={word}"]))
        assert settings.refit is meant and settings.quantize is meant, word
    assert TrainingSettings(**_parsed_settings(["epochs=1"])).epochs == 1  # still a number


def test_max_articles_caps_ptc_and_memes_alike_whatever_the_order_of_data(
    tmp_path: Path, data_dir: Path, memes_dir: Path
) -> None:
    """With memes named first, a cap on the whole list fitted memes alone, got past the
    refusal to train on memes alone, scored on meme dev, and the card said otherwise."""
    ptc_dev = len(load_split(data_dir, "dev").articles)
    cards = []
    for order in ((data_dir, memes_dir), (memes_dir, data_dir)):
        out = tmp_path / order[0].name
        args = ["train", "--baseline", "--out", str(out), "--max-articles", "4", "--no-progress"]
        result = runner.invoke(app, [*args, "--data", str(order[0]), "--data", str(order[1])])
        assert result.exit_code == 0, result.output
        facts = json.loads((out / "training.json").read_text(encoding="utf-8"))
        assert facts["data"]["train articles"] == 4
        assert facts["data"]["memes"].startswith(
            "4 SemEval-2021 Task 6 meme texts in the training data (the first 4 of 6 by "
            "--max-articles; splits train;"
        )
        assert "4 SemEval-2021 Task 6 meme texts" in (out / "MODEL_CARD.md").read_text("utf-8")
        assert facts["reliability"]["articles"] == ptc_dev  # scored on PTC dev, not meme dev
        cards.append({key: value for key, value in facts["data"].items() if key != "corpora"})
    assert cards[0] == cards[1]


def test_the_baseline_refuses_the_options_of_the_transformer(
    tmp_path: Path, data_dir: Path
) -> None:
    """It would ignore them: a run that looks like it used an encoder or a recipe did not."""
    base = ["train", "--kind", "baseline", "--data", str(data_dir), "--out", str(tmp_path / "m")]
    given = ["--encoder", str(tmp_path), "--epochs", "6", "--max-steps", "3", "--no-quantize"]
    given += ["--no-refit", "--setting", "epochs=2", "--device", "cpu"]
    given += ["--teacher", str(DEFAULT_MODEL_DIR), "--with-dev", str(DEFAULT_MODEL_DIR)]
    result = runner.invoke(app, [*base, *given])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "Error: --encoder, --epochs, --max-steps, --no-quantize, --no-refit, --setting, "
        "--device, --teacher, --with-dev are for --kind transformer only; the baseline would "
        "ignore them: drop them, or train --kind transformer\n"
    )
    one = runner.invoke(app, ["train", "--baseline", *base[3:], "--quantize"])
    assert one.exit_code == 2
    assert "Error: --quantize is for --kind transformer only; the baseline would ignore it" in (
        one.stderr
    )
    assert not (tmp_path / "m").exists()


def test_out_must_be_a_folder(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("mine", encoding="utf-8")
    args = ["train", "--baseline", "--data", str(data_dir), "--out", str(out), "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert f"--out {out} is a file; --out must be a folder" in result.stderr
    assert out.read_text(encoding="utf-8") == "mine"


def test_a_model_trained_without_a_name_is_named_after_its_folder(
    tmp_path: Path, data_dir: Path
) -> None:
    """Not after the shipped model: results and reports would take it for that one. A
    folder named as a shipped model gets ``-local``; --name and --version still rule."""
    args = ["train", "--baseline", "--data", str(data_dir), "--max-articles", "4"]
    args += ["--no-evaluate-dev", "--no-progress"]
    shipped = load_detector(DEFAULT_MODEL_DIR)
    for folder, name in [
        ("my-model", "my-model"),
        ("my outlets (v2)", "my-outlets-v2"),
        ("modèle", "modele"),
        ("модель", "model-b68fadf0"),  # letters no name can hold: a hash tells folders apart
        (shipped.name, f"{shipped.name}-local"),
        ("propscan-baseline", "propscan-baseline-local"),
    ]:
        out = tmp_path / folder
        result = runner.invoke(app, [*args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert load_detector(out).name == name
        facts = json.loads((out / "training.json").read_text(encoding="utf-8"))
        assert facts["name"] == name
    again = tmp_path / "reproduced"
    named = ["--name", shipped.name, "--version", shipped.version]
    assert runner.invoke(app, [*args, "--out", str(again), *named]).exit_code == 0
    assert (load_detector(again).name, load_detector(again).version) == (
        shipped.name,
        shipped.version,
    )
