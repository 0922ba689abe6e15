"""``propscan corpus stats``: size, techniques, span lengths and overlaps of the PTC splits."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from propscan.cli.app import app
from propscan.ptc.splits import SPLITS, load_split, resolve_data_dir
from propscan.ptc.stats import PERCENTILES, STATS_SCHEMA_VERSION, CorpusStats, corpus_stats


class SplitName(StrEnum):
    train = "train"
    dev = "dev"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


corpus_app = typer.Typer(
    help="Inspect the PTC corpus, or import annotated articles as one.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(corpus_app, name="corpus")


def stats_table(stats: list[CorpusStats]) -> Table:
    """One column per split: sizes, then spans per technique, span lengths and overlaps."""
    table = Table(title="PTC corpus statistics")
    table.add_column("")
    for split in stats:
        table.add_column(split.split, justify="right")

    def row(label: str, values: list[object], end_section: bool = False) -> None:
        table.add_row(label, *(f"{v:,}" if isinstance(v, int) else str(v) for v in values))
        if end_section:
            table.add_section()

    row("articles", [s.articles for s in stats])
    row("characters", [s.characters for s in stats])
    row("words", [s.words for s in stats])
    row("spans", [s.spans for s in stats], end_section=True)
    for label in stats[0].spans_per_technique:
        row(label, [s.spans_per_technique[label] for s in stats])
    table.add_section()
    for key in [f"p{p}" for p in PERCENTILES] + ["max"]:
        row(f"span length {key} (chars)", [(s.span_length or {}).get(key, "-") for s in stats])
    table.add_section()
    row("overlapping span pairs", [s.overlaps.pairs for s in stats])
    row("  with the same technique", [s.overlaps.same_technique_pairs for s in stats])
    row("  with the same offsets", [s.overlaps.same_offsets_pairs for s in stats])
    row("spans overlapping another", [s.overlaps.spans_overlapping for s in stats])
    return table


@corpus_app.command("stats")
def stats_command(
    data: Annotated[
        Path | None,
        typer.Option(
            help="PTC corpus directory (default: $PROPSCAN_DATA, else ../shared/data/ptc-v2)."
        ),
    ] = None,
    split: Annotated[
        SplitName | None, typer.Option(help="Only this split (default: all splits).")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Table for reading, JSON for scripts.")
    ] = OutputFormat.table,
) -> None:
    """Articles, characters, words, spans per technique, span lengths and overlaps."""
    root = resolve_data_dir(data)
    names = [split.value] if split is not None else list(SPLITS)
    stats = [corpus_stats(load_split(root, name)) for name in names]
    if output_format is OutputFormat.json:
        payload = {
            "schema_version": STATS_SCHEMA_VERSION,
            "data": str(root.resolve()),
            "splits": [s.to_dict() for s in stats],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        Console().print(stats_table(stats))
