"""``propscan score si|tc|flc``: score a predictions file against gold labels."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from propscan.cli.app import app
from propscan.cli.console import console
from propscan.core.spans import Annotations
from propscan.core.techniques import PTC_14, TechniqueSet, technique_set
from propscan.errors import InputFormatError, PropscanError
from propscan.ptc.io import read_labels, read_si_labels, read_text
from propscan.ptc.scoring import (
    Prf,
    SpanMismatchError,
    SpanScores,
    TcScores,
    check_tc_spans,
    score_flc,
    score_si,
    score_tc,
)

score_app = typer.Typer(
    name="score",
    help=(
        "Score predictions against gold labels like the official SemEval-2020 Task 11 "
        "(SI, TC) and NLP4IF-2019 (FLC) scorers."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(score_app, name="score")


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


GoldOption = Annotated[Path, typer.Option("--gold", help="Gold labels file (PTC format).")]
PredOption = Annotated[Path, typer.Option("--pred", help="Predictions file (PTC format).")]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="A readable table, or JSON for scripts.")
]


def _line_of(path: Path, article_id: str, start: int, end: int) -> int | None:
    """The first line of a (validated) labels file holding the given span."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        fields = [field.strip() for field in line.rstrip("\r").split("\t")]
        if len(fields) >= 3 and fields[0] == article_id and _offsets(fields) == (start, end):
            return number
    return None


def _offsets(fields: list[str]) -> tuple[int, int] | None:
    try:
        return int(fields[-2]), int(fields[-1])
    except ValueError:
        return None


def _mismatch_message(error: SpanMismatchError, gold: Path, pred: Path) -> InputFormatError:
    """The mismatch located in the predictions file, or in the gold file when a span is missing."""
    span = f"span {error.article_id} {error.start}-{error.end}"
    rule = (
        "a TC predictions file must list exactly the gold spans (one line per gold line) "
        "and change only the technique column"
    )
    if error.predicted_count == 0:
        where = _line_of(gold, error.article_id, error.start, error.end)
        gold_line = f"{gold}:{where}" if where is not None else str(gold)
        return InputFormatError(pred, None, f"{span} of {gold_line} is missing; {rule}")
    return InputFormatError(
        pred,
        _line_of(pred, error.article_id, error.start, error.end),
        f"{span} has {error.predicted_count} line(s) here but {error.gold_count} in {gold}; {rule}",
    )


def _print_table(
    title: str,
    first_column: str,
    counted: str,
    rows: list[tuple[str, Prf]],
    summary_rows: int = 1,
) -> None:
    """Scores to 4 decimals (``--format json`` gives them exactly), narrow enough for 80
    columns; the first ``summary_rows`` rows (the averages) in bold above a line."""
    caption = f"Pred, Gold: numbers of {counted}"
    table = Table(title=title, caption=caption)
    table.add_column(first_column, no_wrap=True)
    for name in ("Prec", "Rec", "F1", "Pred", "Gold"):
        table.add_column(name, justify="right")
    for index, (name, prf) in enumerate(rows):
        table.add_row(
            name,
            f"{prf.precision:.4f}",
            f"{prf.recall:.4f}",
            f"{prf.f1:.4f}",
            str(prf.predicted_count),
            str(prf.gold_count),
            style="bold" if index < summary_rows else None,
            end_section=index == summary_rows - 1 and len(rows) > summary_rows,
        )
    console().print(table)


def _report(scores: SpanScores | TcScores, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        typer.echo(json.dumps(scores.to_dict(), indent=2))
        return
    if isinstance(scores, TcScores):
        micro = Prf(scores.micro_f1, scores.micro_f1, scores.micro_f1, scores.total, scores.total)
        rows = [("micro average", micro), ("macro average", scores.macro)]
        _print_table(
            f"TC: {scores.correct} of {scores.total} labels right",
            "Technique",
            "labels",
            [*rows, *scores.per_technique.items()],
            summary_rows=len(rows),
        )
    elif scores.task == "si":
        _print_table("SI", "Spans", "merged spans", [("all spans", scores.overall)])
    else:
        rows = [("all techniques", scores.overall), *scores.per_technique.items()]
        _print_table("FLC", "Technique", "merged spans", rows)


@score_app.command(
    "si",
    help=(
        "Span identification: overlap-based precision, recall and F1.\n\n"
        "Files hold ID START END lines; a 4-column FLC/TC file (ID TECHNIQUE START END) "
        "is accepted too (detected from its first line) and its techniques are ignored. "
        "Overlapping spans of an article are merged on both sides."
    ),
)
def score_si_command(
    gold: GoldOption, pred: PredOption, output: FormatOption = OutputFormat.table
) -> None:
    """Score span identification."""
    _report(score_si(_gold_spans(read_si_labels(gold), gold), read_si_labels(pred)), output)


@score_app.command(
    "tc",
    help=(
        "Technique classification: micro F1 (the official score), macro F1 and "
        "per-technique scores.\n\n"
        "Files hold ID TECHNIQUE START END lines; the predictions must repeat the gold "
        "spans exactly, in any order, and only the techniques may differ."
    ),
)
def score_tc_command(
    gold: GoldOption, pred: PredOption, output: FormatOption = OutputFormat.table
) -> None:
    """Score technique classification, refusing predictions whose spans are not the gold ones."""
    gold_labels, pred_labels, techniques = _technique_labels(gold, pred)
    try:
        check_tc_spans(gold_labels, pred_labels)
    except SpanMismatchError as error:
        raise _mismatch_message(error, gold, pred) from None
    _report(score_tc(gold_labels, pred_labels, techniques), output)


@score_app.command(
    "flc",
    help=(
        "Fragment-level classification: SI scoring where techniques must match.\n\n"
        "Files hold ID TECHNIQUE START END lines; overlapping spans with the same technique "
        "are merged on both sides. Scores overall and per technique."
    ),
)
def score_flc_command(
    gold: GoldOption, pred: PredOption, output: FormatOption = OutputFormat.table
) -> None:
    """Score fragment-level classification."""
    gold_labels, pred_labels, techniques = _technique_labels(gold, pred)
    _report(score_flc(gold_labels, pred_labels, techniques), output)


def _gold_spans(labels: Annotations, path: Path) -> Annotations:
    """``labels``, refused when empty: scores against no gold spans mean nothing."""
    if len(labels) == 0:
        raise PropscanError(f"{path}: no labels to score; pass a gold file with spans")
    return labels


def _technique_labels(gold: Path, pred: Path) -> tuple[Annotations, Annotations, TechniqueSet]:
    """Gold and predicted FLC labels, and the technique set they are scored over: PTC's 14
    (as the official scorers list them) when the gold labels are PTC's, else the gold's
    own labels, which the predictions must then use too."""
    gold_labels = _gold_spans(read_labels(gold, "flc", techniques=None), gold)
    found = sorted({str(span.technique) for _, span in gold_labels})
    techniques = PTC_14 if set(found) <= set(PTC_14) else technique_set(found)
    return gold_labels, read_labels(pred, "flc", techniques=techniques), techniques
