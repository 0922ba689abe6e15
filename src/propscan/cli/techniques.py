"""``propscan techniques``: the propaganda techniques propscan detects, with definitions."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from propscan.cli.app import app
from propscan.cli.console import console
from propscan.cli.models import model_option
from propscan.core.techniques import MERGE_18_TO_14, PTC_18, Technique
from propscan.errors import PropscanError
from propscan.models.registry import describe_model

#: Version of the JSON written by ``propscan techniques --format json``.
TECHNIQUES_SCHEMA_VERSION = 1


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def technique_dict(technique: Technique, show_merge: bool = False) -> dict[str, Any]:
    """A technique as JSON; ``show_merge`` adds its 14-label counterpart (``None``: dropped)."""
    entry: dict[str, Any] = {
        "label": technique.label,
        "name": technique.name,
        "definition": technique.definition,
        "example": technique.example,
        "colour": technique.colour,
    }
    if show_merge:
        entry["merged_into"] = MERGE_18_TO_14[technique.label]
    return entry


def techniques_table(techniques: list[Technique], show_merge: bool) -> Table:
    """Names shown on their highlight colour above the exact label, then definition and example."""
    table = Table(title="Propaganda techniques", show_lines=True, expand=True)
    table.add_column("Technique (label)", overflow="fold", ratio=2)
    table.add_column("Definition", ratio=3)
    table.add_column("Example", style="italic", ratio=2)
    if show_merge:
        table.add_column("In the 14-label task", overflow="fold", ratio=2)
    for technique in techniques:
        cells = [
            f"[black on {technique.colour}]{escape(technique.name)}[/]\n"
            f"[dim]{escape(technique.label)}[/]",
            technique.definition,
            technique.example,
        ]
        if show_merge:
            cells.append(MERGE_18_TO_14[technique.label] or "dropped")
        table.add_row(*cells)
    return table


@app.command("techniques")
def techniques_command(
    original: Annotated[
        bool,
        typer.Option(
            "--original/--no-original",
            help="List the 18 techniques the corpus was annotated with and how they merge.",
        ),
    ] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Table for reading, JSON for scripts.")
    ] = OutputFormat.table,
    model: Annotated[
        str | None,
        model_option("Model whose techniques to list: a name or a directory (default: shipped)."),
    ] = None,
) -> None:
    """The propaganda techniques a model names, with definitions and examples."""
    if original and model is not None:
        raise PropscanError("--original lists PTC's 18 annotated techniques; give no --model")
    chosen = PTC_18 if original else describe_model(model).techniques
    techniques = chosen.descriptions()
    if output_format is OutputFormat.json:
        payload = {
            "schema_version": TECHNIQUES_SCHEMA_VERSION,
            "techniques": [
                technique_dict(technique, show_merge=original) for technique in techniques
            ],
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        console().print(techniques_table(techniques, show_merge=original))
