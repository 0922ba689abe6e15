"""``propscan evaluate`` and ``propscan classify``: score a model on a labelled corpus, and
label the spans of a SemEval TC template with techniques."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from propscan.cli.app import app
from propscan.cli.console import console
from propscan.cli.models import ModelOption
from propscan.core.techniques import TechniqueSet
from propscan.core.words import plural
from propscan.errors import PropscanError
from propscan.evaluation.evaluate import EvaluationResult, classify_gold_spans, evaluate
from propscan.evaluation.model_card import FACTS_FILE
from propscan.models.registry import resolve_model
from propscan.ptc.io import read_articles, read_spans_to_classify, write_labels
from propscan.ptc.splits import Split, load_labelled, load_split, resolve_data_dir

ProgressOption = Annotated[
    bool, typer.Option(help="Show progress bars on stderr (only when it is a terminal).")
]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def _corpus(
    data: Path | None,
    split: str,
    articles_dir: Path | None,
    gold_file: Path | None,
    techniques: TechniqueSet,
) -> Split:
    """The articles and FLC gold labels to evaluate on: a PTC split, or any articles + gold
    (labelled with ``techniques``, the model's set)."""
    if (articles_dir is None) != (gold_file is None):
        raise PropscanError(
            "--articles and --gold go together: pass both (a folder of article{ID}.txt files "
            "and their FLC labels), or neither to use a split of the PTC corpus"
        )
    if articles_dir is not None and gold_file is not None:
        labelled = load_labelled(articles_dir, gold_file, techniques)
        if len(labelled.gold) == 0:
            raise PropscanError(f"{gold_file}: no labels to score; pass a gold file with spans")
        return labelled
    return load_split(resolve_data_dir(data), split)


def _print_table(result: EvaluationResult) -> None:
    table = Table(
        title=f"{result.model_name} {result.model_version} on {plural(result.articles, 'article')}",
        caption=f"predictions in {result.out_dir}",
    )
    for name, justify in (("Task", "left"), ("Prec", "right"), ("Rec", "right"), ("F1", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_row(
        "SI", f"{result.si.precision:.4f}", f"{result.si.recall:.4f}", f"{result.si.f1:.4f}"
    )
    if result.tc is not None:
        table.add_row("TC (micro)", "", "", f"{result.tc.micro_f1:.4f}")
        table.add_row("TC (macro)", "", "", f"{result.tc.macro_f1:.4f}")
    table.add_row(
        "FLC", f"{result.flc.precision:.4f}", f"{result.flc.recall:.4f}", f"{result.flc.f1:.4f}"
    )
    console().print(table)


def _warn_if_fitted_on_dev(directory: Path | None) -> None:
    """A model fitted on dev too (``propscan train --with-dev``) scores what it has seen."""
    facts = directory / FACTS_FILE if directory is not None else None
    if facts is None or not facts.is_file():
        return
    try:
        twin = json.loads(facts.read_text(encoding="utf-8")).get("twin")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return  # a damaged card must not stop an evaluation
    if isinstance(twin, dict):
        typer.echo(
            "note: this model was fitted on dev as well, so its dev scores overstate it; "
            f"its card's dev scores are its twin's ({twin.get('name')} {twin.get('version')}, "
            "the same recipe fitted without dev)",
            err=True,
        )


@app.command("evaluate")
def evaluate_command(
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Directory for the predictions: si.labels, flc.labels, tc.labels."
        ),
    ],
    data: Annotated[
        Path | None,
        typer.Option(
            help="PTC corpus directory (default: $PROPSCAN_DATA, else ../shared/data/ptc-v2)."
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="Corpus split to evaluate on: dev or train.")] = "dev",
    articles: Annotated[
        Path | None,
        typer.Option(
            "--articles", help="Folder of article{ID}.txt files to evaluate on instead of a split."
        ),
    ] = None,
    gold: Annotated[
        Path | None,
        typer.Option("--gold", help="FLC gold labels (ID TECHNIQUE START END) for --articles."),
    ] = None,
    model: ModelOption = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="A readable table, or JSON for scripts.")
    ] = OutputFormat.table,
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Span decision threshold (default: the model's tuned one); lower finds more.",
        ),
    ] = None,
    progress: ProgressOption = True,
) -> None:
    """Score a model on labelled articles (SI, TC, FLC) and write its predictions."""
    detector = resolve_model(model)
    corpus = _corpus(data, split, articles, gold, detector.techniques)
    if articles is None and split == "dev":
        _warn_if_fitted_on_dev(detector.directory)
    result = evaluate(
        detector, corpus.articles, corpus.gold, out, threshold=threshold, progress=progress
    )
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_table(result)


@app.command("classify")
def classify_command(
    articles: Annotated[
        Path, typer.Option("--articles", help="Folder of the article{ID}.txt files.")
    ],
    spans: Annotated[
        Path,
        typer.Option(
            "--spans",
            help="Spans to label: a SemEval TC template (ID ? START END) or SI spans "
            "(ID START END). A span listed k times gets its k most probable techniques.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="File to write the labelled spans to.")],
    model: ModelOption = None,
    progress: ProgressOption = True,
) -> None:
    """Technique classification (the TC task): a technique for every given span."""
    by_id = {article.id: article for article in read_articles(articles)}
    to_label = read_spans_to_classify(spans, by_id)
    if len(to_label) == 0:
        raise PropscanError(f"{spans}: no spans to classify")
    detector = resolve_model(model)
    chosen = [by_id[article_id] for article_id in to_label.article_ids]
    labelled = classify_gold_spans(detector, chosen, to_label, progress)
    write_labels(out, labelled, "flc")
    typer.echo(f"{plural(len(labelled), 'labelled span')} written to {out}", err=True)
