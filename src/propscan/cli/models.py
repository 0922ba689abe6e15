"""``propscan models`` and ``propscan package-model``: the models to choose from, and a
trained model made into a package that adds itself to them.

Every command that runs a model takes ``--model NAME|DIR`` (:data:`ModelOption`): an
installed model's name, ``default`` for the shipped one, or a model directory.
"""

from __future__ import annotations

import json
import os
import shlex
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from propscan.cli.app import app
from propscan.cli.console import console
from propscan.evaluation.model_card import installed_model_entry, read_card_summary
from propscan.evaluation.speed import measure_speed
from propscan.models.registry import DEFAULT_MODEL_NAME, installed_models
from propscan.packaging.build import write_model_package
from propscan.pipeline import load_model

#: Version of the JSON written by ``propscan models --format json``.
MODELS_SCHEMA_VERSION = 1
MODEL_HELP = (
    "Model to use: an installed model's name (see 'propscan models'), or a model directory "
    "(default: the model shipped with propscan)."
)


def model_option(help: str = MODEL_HELP) -> Any:
    """The ``--model NAME|DIR`` option, with a help text of the command's own."""
    return typer.Option("--model", metavar="NAME|DIR", help=help, show_default=False)


#: ``--model`` as most commands take it.
ModelOption = Annotated[str | None, model_option()]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def models_listing(measure: bool = False) -> list[dict[str, Any]]:
    """Every installed model as ``propscan models --format json`` lists it; with
    ``measure``, each usable one also timed on this machine (``measured``)."""
    entries = []
    for model in installed_models():
        entry = {
            **installed_model_entry(model),
            "default": model.name == DEFAULT_MODEL_NAME,
            "directory": None if model.directory is None else str(model.directory),
        }
        if measure and model.directory is not None and "problem" not in entry:
            entry.update(_measured(model.name, model.directory))
        entries.append(entry)
    return entries


def _measured(name: str, directory: Path) -> dict[str, Any]:
    """``measured``: the model's speed here, or the ``problem`` that kept it from being
    timed (any error: a third party's model must not stop the listing of the others)."""
    console(stderr=True).print(f"Timing {escape(name)} on the sample article...")
    try:
        speed = measure_speed(load_model(directory), read_card_summary(directory))
    except Exception as error:  # said under the table; the other models are still timed
        return {"measured": {"problem": f"it could not be timed: {error}"}}
    articles = speed.articles_per_second
    return {
        "measured": {
            "characters_per_second": round(speed.characters_per_second),
            "articles_per_second": None if articles is None else round(articles, 2),
            "machine": speed.machine,
        }
    }


def _score(entry: dict[str, Any], key: str) -> str:
    value = (entry.get("scores") or {}).get("dev", {}).get(key)
    return "" if value is None else f"{value:.3f}"


def _megabytes(size_bytes: int) -> str:
    return "<0.1" if size_bytes < 50_000 else f"{size_bytes / 1e6:.1f}"


def _speed(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _here(measured: dict[str, Any]) -> str:
    """The "here" cell: articles/s timed on this machine, "failed" when the model could not
    be timed, blank when its card gives no speed to compare with."""
    return "failed" if "problem" in measured else _speed(measured["articles_per_second"])


def _models_table(entries: list[dict[str, Any]]) -> Table:
    machines = [e["measured"]["machine"] for e in entries if "machine" in e.get("measured", {})]
    any_measured = any("measured" in e for e in entries)
    caption = (
        "--model NAME chooses one (* without --model); F1 on PTC dev and speed from each "
        "model card; --format json names the packages"
    )
    if machines:
        caption += f"; here: articles/s timed on this machine ({machines[0]})"
    table = Table(title="Installed models", caption=escape(caption))
    headings = ["name", "model", "MB", "art./s", "SI F1", "TC F1", "FLC F1"]
    if any_measured:
        headings.insert(4, "here")
    for heading in headings:
        left = heading in ("name", "model")
        # the model's name and version may wrap, so that every figure stays whole
        table.add_column(heading, justify="left" if left else "right", no_wrap=heading != "model")
    for entry in entries:
        name = escape(entry["name"]) + ("*" if entry.get("default") else "")
        if "problem" in entry:  # said under the table: a long one would squeeze every column
            table.add_row(name, "[red]broken, see below[/]")
            continue
        here = [_here(entry["measured"])] if any_measured else []
        table.add_row(
            name,
            escape(f"{entry['model']['name']} {entry['model']['version']}"),
            _megabytes(entry["size_bytes"]),
            _speed(entry["articles_per_second"]),
            *here,
            _score(entry, "si_f1"),
            _score(entry, "tc_micro_f1"),
            _score(entry, "flc_f1"),
        )
    return table


def _models_view(entries: list[dict[str, Any]]) -> RenderableType:
    """The table, then what is wrong with each model that cannot be used, one per line
    (wrapped to the terminal rather than widening the table)."""
    problems = [
        Text.assemble((entry["name"], "bold"), ": ", (problem, "red"))
        for entry in entries
        for problem in (entry.get("problem"), entry.get("measured", {}).get("problem"))
        if problem
    ]
    return Group(_models_table(entries), *problems)


@app.command("models")
def models_command(
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Table for reading, JSON for scripts.")
    ] = OutputFormat.table,
    measure: Annotated[
        bool,
        typer.Option(
            "--measure",
            help="Also time each model on this machine (a few seconds each): the cards' "
            "speeds were measured where the models were trained, and CPUs differ by 4x.",
        ),
    ] = False,
) -> None:
    """The models to choose from with --model: size, speed and scores from each card."""
    entries = models_listing(measure)
    if output_format is OutputFormat.json:
        payload = {"schema_version": MODELS_SCHEMA_VERSION, "models": entries}
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        console().print(_models_view(entries))


@app.command("package-model")
def package_model_command(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="The model to package: a directory made by 'propscan train', or a model's name.",
            show_default=False,
        ),
    ],
    name: Annotated[
        str,
        typer.Option(
            "--name", help="The name to choose it by (--model NAME); the package is propscan-NAME."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="New directory to write the package to.")],
    model_name: Annotated[
        str | None,
        typer.Option(
            "--model-name",
            help="Rename the model in its model.json (results record this name; default: keep).",
        ),
    ] = None,
) -> None:
    """Write a model as a Python package; 'pip install OUT' then adds it to 'propscan models'."""
    package = write_model_package(model, name, out, model_name=model_name)
    typer.echo(
        f"Wrote {package.distribution} {package.version} to {out}; install it with "
        f"'python -m pip install {_pip_folder(out)}', then use --model {package.name}",
        err=True,
    )


def _pip_folder(folder: Path) -> str:
    """``folder`` as pip takes it for a folder when pasted into a shell: pip looks a bare
    name (``propscan-mpnet``, which ``Path`` makes of ``./propscan-mpnet`` too) up on the
    package index, so a relative path without a separator gets ``./``."""
    text = str(folder)
    if not folder.is_absolute() and os.sep not in text and "/" not in text:
        text = f"./{text}"
    return shlex.quote(text)
