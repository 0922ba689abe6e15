"""``propscan batch``, ``report`` and ``export-history``: analyse a corpus, then summarise it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from propscan.batch.chunks import AnalysisOptions
from propscan.batch.engines import open_engine
from propscan.batch.inputs import DEFAULT_MAX_CHARACTERS, Columns, input_kind
from propscan.batch.run import DEFAULT_CHUNK_SIZE, run_batch
from propscan.cli.app import MinBandOption, app
from propscan.cli.console import console
from propscan.cli.models import ModelOption, model_option
from propscan.core.techniques import TechniqueSet
from propscan.core.words import plural
from propscan.errors import PropscanError
from propscan.report.html import format_value, make_report
from propscan.report.tables import DEFAULT_TOP_FRAGMENTS, GROUPINGS


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise PropscanError(f"{option} must be one of {', '.join(choices)}, got {value!r}")
    return value


@app.command()
def batch(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="A folder of .txt files (PTC layout included), a .jsonl, .csv or .parquet file.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Results directory to write.")],
    result_format: Annotated[
        str, typer.Option("--format", help="Table format: parquet or jsonl.")
    ] = "parquet",
    model: ModelOption = None,
    threshold: Annotated[
        float | None, typer.Option(help="Decision threshold 0..1 (default: the model's own).")
    ] = None,
    technique: Annotated[
        list[str] | None,
        typer.Option("--technique", "-t", help="Keep only spans of this technique (repeatable)."),
    ] = None,
    min_band: MinBandOption = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume/--no-resume", help="Continue an interrupted run into the same --out."
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(help="Worker processes (local) or LocalCluster workers (dask).")
    ] = 1,
    engine: Annotated[str, typer.Option(help="Where to run: local or dask.")] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://HOST:8786); default: a LocalCluster."),
    ] = None,
    chunk_size: Annotated[
        int, typer.Option(min=1, help="Documents analysed together and written as one part.")
    ] = DEFAULT_CHUNK_SIZE,
    max_chars: Annotated[
        int, typer.Option(min=1, help="Longer texts are reported as errors, not analysed.")
    ] = DEFAULT_MAX_CHARACTERS,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Analyse only the first N records.")
    ] = None,
    id_column: Annotated[str, typer.Option(help="Field holding the record id.")] = "id",
    text_column: Annotated[str, typer.Option(help="Field holding the article text.")] = "text",
    title_column: Annotated[str, typer.Option(help="Field holding the title.")] = "title",
    source_column: Annotated[
        str | None, typer.Option(help="Field holding the outlet (default: source, else outlet).")
    ] = None,
    date_column: Annotated[str, typer.Option(help="Field holding the date.")] = "date",
    url_column: Annotated[str, typer.Option(help="Field holding the URL.")] = "url",
    progress: Annotated[bool, typer.Option(help="Show a progress bar on a terminal.")] = True,
) -> None:
    """Analyse every article of INPUT and write span, article and error tables to --out.

    Bad records (no id, empty, not UTF-8, too long) go to OUT/errors.jsonl and the run
    goes on. An interrupted run continues with --resume and never writes a document twice.
    """
    _choice(result_format, ("parquet", "jsonl"), "--format")
    input_kind(input_path)
    columns = Columns(
        id=id_column,
        text=text_column,
        title=title_column,
        source=(source_column,) if source_column else Columns().source,
        date=date_column,
        url=url_column,
    )
    options = AnalysisOptions(
        threshold=threshold, techniques=tuple(technique) if technique else None, min_band=min_band
    )
    with open_engine(engine, model=model, workers=workers, scheduler=scheduler) as runner:
        summary = run_batch(
            input_path,
            out,
            model=model,
            engine=runner,
            result_format="jsonl" if result_format == "jsonl" else "parquet",
            options=options,
            columns=columns,
            chunk_size=chunk_size,
            max_characters=max_chars,
            limit=limit,
            resume=resume,
            progress=progress,
        )
    for part in summary.damaged:
        typer.echo(f"Damaged, analysed again: {part}", err=True)
    typer.echo(summary.describe(out), err=True)


#: Columns of the terminal table and their headers (the CSV and HTML tables have them all).
_TERMINAL_COLUMNS = {
    "outlet": "outlet",
    "period": "period",
    "technique": "technique",
    "articles": "articles",
    "spans": "spans",
    "share_of_spans": "share",
    "spans_per_1000_words": "per 1k words",
    "propaganda_sentence_share": "prop. sent.",
    "outlets": "outlets",
    "mean_score": "score",
    "top_technique": "top technique",
}
_LABEL_COLUMNS = ("outlet", "period", "technique", "top_technique")


def _cell(column: str, value: object, techniques: TechniqueSet) -> str:
    if column in ("technique", "top_technique") and isinstance(value, str):
        return techniques.describe(value).name
    return format_value(column, value)


def _print_table(rows: list[dict[str, object]], title: str, techniques: TechniqueSet) -> None:
    table = Table(title=title)
    columns = [column for column in _TERMINAL_COLUMNS if rows and column in rows[0]]
    for column in columns:
        label = column in _LABEL_COLUMNS
        table.add_column(
            _TERMINAL_COLUMNS[column], justify="left" if label else "right", no_wrap=not label
        )
    for row in rows:
        table.add_row(*(_cell(column, row[column], techniques) for column in columns))
    console(file=sys.stdout).print(table)


@app.command()
def report(
    results: Annotated[
        Path, typer.Argument(metavar="RESULTS", help="A results directory of 'propscan batch'.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for report.html and the CSV tables.")
    ] = None,
    by: Annotated[str, typer.Option(help="Main grouping: outlet, date or technique.")] = "outlet",
    output_format: Annotated[
        str,
        typer.Option("--format", help="html (write --out), table (print the main table) or json."),
    ] = "html",
    top: Annotated[
        int, typer.Option(min=1, help="Most frequent fragments listed per technique.")
    ] = DEFAULT_TOP_FRAGMENTS,
    period: Annotated[
        str | None,
        typer.Option(help="Time buckets: day, week or month (default: chosen from the dates)."),
    ] = None,
    title: Annotated[str | None, typer.Option(help="Heading of the HTML report.")] = None,
    input_path: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="Where the batch run's input is now, when it moved (the article pages "
            "read their texts from it).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        model_option(
            "The model that made the results, by name or directory (default: the installed "
            "model the run recorded); its card says how far each technique's count can be "
            "trusted."
        ),
    ] = None,
) -> None:
    """Propaganda per outlet, over time and per technique, as HTML with plots and CSV tables.

    The HTML report ranks the articles by their article score, each linked to a
    highlighted page of it in OUT/articles (its text read again from the run's input).
    """
    _choice(by, GROUPINGS, "--by")
    _choice(output_format, ("html", "table", "json"), "--format")
    if output_format == "html" and out is None:
        raise PropscanError("--out DIR is needed to write the HTML report (or use --format table)")
    corpus_report, page = make_report(
        results,
        out,
        by=by,
        top=top,
        period=period,
        title=title,
        input_path=input_path,
        model=model,
    )
    main = corpus_report.table(by)
    rows = json.loads(main.to_json(orient="records"))
    if output_format == "table":
        _print_table(rows, f"Propaganda by {by}", corpus_report.techniques)
    elif output_format == "json":
        typer.echo(json.dumps({"by": by, "summary": corpus_report.summary, "rows": rows}, indent=2))
    if page is not None:
        typer.echo(f"Report written to {page}", err=True)


@app.command("export-history")
def export_history_command(
    out: Annotated[Path, typer.Option("--out", help="Results directory to write.")],
    db: Annotated[
        Path | None,
        typer.Option(
            help="History database of 'propscan serve' "
            "(default: $PROPSCAN_DB, else ~/.local/share/propscan/history.db)."
        ),
    ] = None,
    result_format: Annotated[
        str, typer.Option("--format", help="Table format: parquet or jsonl.")
    ] = "parquet",
) -> None:
    """Write the service's analysis history as batch results, ready for 'propscan report'."""
    from propscan.service.history_export import export_history
    from propscan.service.store import default_db_path

    _choice(result_format, ("parquet", "jsonl"), "--format")
    summary = export_history(
        db if db is not None else default_db_path(),
        out,
        result_format="jsonl" if result_format == "jsonl" else "parquet",
    )
    exported = f"{plural(summary.done, 'analysis', 'analyses')} ({plural(summary.spans, 'span')})"
    typer.echo(f"Exported {exported} to {out}", err=True)
