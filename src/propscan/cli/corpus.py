"""``propscan corpus stats``: size, techniques, span lengths and overlaps of a corpus's splits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from propscan.cli.app import app
from propscan.cli.console import console
from propscan.core.techniques import MEME_TO_14
from propscan.errors import PropscanError
from propscan.ptc.memes import MEMES_CORPUS, is_meme_dir
from propscan.ptc.splits import load_split, present_splits, resolve_data_dir
from propscan.ptc.stats import PERCENTILES, STATS_SCHEMA_VERSION, CorpusStats, corpus_stats


class SplitName(StrEnum):
    train = "train"
    dev = "dev"
    test = "test"


class Unmapped(StrEnum):
    """What becomes of meme spans of techniques outside the 14."""

    drop = "drop"
    unlabelled = "unlabelled"


UnmappedOption = Annotated[
    Unmapped,
    typer.Option(
        help="Meme corpus spans of techniques PTC lacks (Smears, Glittering generalities, "
        "Obfuscation): drop them, or keep them without a technique, as propaganda for "
        "span finding only."
    ),
]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


corpus_app = typer.Typer(
    help="Inspect a corpus (PTC or the SemEval-2021 Task 6 memes), or import annotated "
    "articles as one.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(corpus_app, name="corpus")


def stats_table(stats: list[CorpusStats], title: str, original: bool = False) -> Table:
    """One column per split: sizes, spans per technique (and per original technique when
    asked), span lengths and overlaps."""
    table = Table(title=title)
    table.add_column("")
    for split in stats:
        table.add_column(split.split, justify="right")

    def row(label: str, values: Sequence[object], end_section: bool = False) -> None:
        table.add_row(label, *(f"{v:,}" if isinstance(v, int) else str(v) for v in values))
        if end_section:
            table.add_section()

    row("articles", [s.articles for s in stats])
    row("characters", [s.characters for s in stats])
    row("words", [s.words for s in stats])
    row("spans", [s.spans for s in stats], end_section=True)
    for label in stats[0].spans_per_technique:
        row(label, [s.spans_per_technique[label] for s in stats])
    if stats[0].spans_outside_14 is not None:
        for key, label in (("dropped", "dropped"), ("unlabelled", "kept unlabelled (SI only)")):
            row(f"outside the 14, {label}", [(s.spans_outside_14 or {})[key] for s in stats])
    table.add_section()
    if original:
        for name in stats[0].spans_per_original_technique or {}:
            mapped = MEME_TO_14[name] or "outside the 14"
            counts = [(s.spans_per_original_technique or {})[name] for s in stats]
            row(f"{name} -> {mapped}", counts)
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
            help="Corpus directory, PTC or SemEval-2021 Task 6 memes (default: "
            "$PROPSCAN_DATA, else ../shared/data/ptc-v2)."
        ),
    ] = None,
    split: Annotated[
        SplitName | None,
        typer.Option(
            help="Only this split (default: all there; PTC has train and dev, memes test too)."
        ),
    ] = None,
    unmapped: UnmappedOption = Unmapped.drop,
    original: Annotated[
        bool,
        typer.Option(
            "--original",
            help="Also list the meme corpus's spans by its own 20 techniques, with the "
            "label each maps onto (JSON always has them).",
        ),
    ] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Table for reading, JSON for scripts.")
    ] = OutputFormat.table,
) -> None:
    """Articles, characters, words, spans per technique, span lengths and overlaps."""
    root = resolve_data_dir(data)
    memes = is_meme_dir(root)
    if original and not memes:
        raise PropscanError(
            "--original lists the meme corpus's own techniques; PTC labels are already the 14"
        )
    names = [split.value] if split is not None else list(present_splits(root))
    stats = [corpus_stats(load_split(root, name, unmapped=unmapped.value)) for name in names]
    if output_format is OutputFormat.json:
        payload = {
            "schema_version": STATS_SCHEMA_VERSION,
            "data": str(root.resolve()),
            "corpus": MEMES_CORPUS if memes else "ptc",
            "splits": [s.to_dict() for s in stats],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        title = (
            "SemEval-2021 Task 6 meme corpus statistics (techniques mapped onto the 14)"
            if memes
            else "PTC corpus statistics"
        )
        console().print(stats_table(stats, title, original))
