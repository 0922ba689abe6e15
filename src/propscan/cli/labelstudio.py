"""``propscan export labelstudio`` and ``propscan corpus import labelstudio``: the Label Studio
round trip, as thin wrappers over :mod:`propscan.integrations.labelstudio`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import app
from propscan.cli.corpus import corpus_app
from propscan.cli.models import model_option
from propscan.errors import PropscanError
from propscan.integrations import labelstudio
from propscan.models.registry import describe_model

export_app = typer.Typer(help="Write results in the formats of other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")

import_app = typer.Typer(
    help="Turn annotations made in other tools into a PTC-layout corpus.", no_args_is_help=True
)
corpus_app.add_typer(import_app, name="import")


@export_app.command("labelstudio")
def export_labelstudio(
    source: Annotated[
        Path | None,
        typer.Argument(
            metavar="RESULTS_OR_ANALYSES",
            help="A 'propscan batch' results directory, or analyses from 'propscan analyze "
            "--format json' or the service (a .json file, a .jsonl file or a folder of .json).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the tasks (or the config) here instead of stdout."),
    ] = None,
    config: Annotated[
        bool,
        typer.Option("--config", help="Print the matching Label Studio labelling config instead."),
    ] = False,
    input_path: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="The articles a batch run analysed, when they are no longer where batch.json "
            "says (results directories hold no texts).",
        ),
    ] = None,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate",
            help="Check the config and tasks with label-studio-sdk (the 'labelstudio' extra).",
        ),
    ] = False,
    model: Annotated[
        str | None,
        model_option(
            "Model whose techniques the config lists, by name or directory (default: the "
            "model that made the results, else the shipped model)."
        ),
    ] = None,
) -> None:
    """Label Studio tasks with propscan's spans as pre-annotations, or the labelling config."""
    if config:
        labelling_config = labelstudio.labelling_config(describe_model(model).techniques)
        if source is not None:
            raise PropscanError("--config prints the labelling config; give no results with it")
        if validate:
            labelstudio.validate(labelling_config)
        _emit(labelling_config, out, "the labelling config")
        return
    if source is None:
        raise PropscanError(
            "give a 'propscan batch' results directory or analyses to export, "
            "or --config for the labelling config"
        )
    analyses = labelstudio.read_for_export(source, input_path)
    techniques = (
        describe_model(model).techniques if model is not None else analyses[0][1].model.techniques
    )
    labelling_config = labelstudio.labelling_config(techniques)
    tasks = labelstudio.tasks_from_analyses(analyses)
    if validate:
        labelstudio.validate(labelling_config, tasks)
    spans = sum(len(task["predictions"][0]["result"]) for task in tasks)
    if out is None:
        sys.stdout.write(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n")
        return
    labelstudio.write_tasks(out, tasks)
    typer.echo(
        f"Wrote {len(tasks)} tasks with {spans} pre-annotated spans to {out}; the labelling "
        "config is 'propscan export labelstudio --config'",
        err=True,
    )


def _emit(content: str, out: Path | None, what: str) -> None:
    if out is None:
        sys.stdout.write(content)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(content, encoding="utf-8")
    except OSError as error:
        raise PropscanError(f"{out}: cannot write {what} ({error.strerror})") from None
    typer.echo(f"Wrote {what} to {out}", err=True)


@import_app.command("labelstudio")
def import_labelstudio(
    export: Annotated[
        Path,
        typer.Argument(metavar="EXPORT.json", help="A Label Studio JSON export (Export → JSON)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the corpus to.")],
    split: Annotated[
        str, typer.Option(help="Split name of the written files ({split}-articles/ ...).")
    ] = "train",
    use_predictions: Annotated[
        bool,
        typer.Option(
            "--use-predictions",
            help="For tasks nobody annotated, take the pre-annotations as they are.",
        ),
    ] = False,
    model: Annotated[
        str | None,
        model_option(
            "Model whose techniques the project labels with, by name or directory "
            "(default: the shipped model)."
        ),
    ] = None,
) -> None:
    """Write a Label Studio export as a PTC-layout corpus for 'propscan train --data'."""
    if split not in ("train", "dev"):
        raise PropscanError(f"unknown split {split!r}; expected train or dev")
    corpus = labelstudio.read_export(
        export, use_predictions=use_predictions, techniques=describe_model(model).techniques
    )
    labelstudio.write_corpus(out, corpus, split)
    message = (
        f"Wrote {len(corpus.articles)} articles with {len(corpus.annotations)} spans to "
        f"{out} ({split} split)"
    )
    if corpus.skipped:
        message += f"; skipped {len(corpus.skipped)} tasks without an annotation"
    typer.echo(message, err=True)
    if corpus.renamed:
        pairs = [f"{given!r} -> {safe!r}" for given, safe in corpus.renamed.items()]
        shown = ", ".join(pairs[:5]) + (f" and {len(pairs) - 5} more" if len(pairs) > 5 else "")
        typer.echo(
            f"Renamed {len(pairs)} article ids that cannot be PTC file names: {shown}",
            err=True,
        )
