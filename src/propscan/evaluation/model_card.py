"""Model cards: what a model was trained on, with which settings, and how well it scores.

Written next to the weights as ``MODEL_CARD.md`` (for people) and ``training.json``
(for programs), so every shipped or trained model documents itself
(:mod:`propscan.training` gathers the facts).
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from propscan.evaluation.evaluate import SUMMARY_COLUMNS

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


def _reliability_section(facts: dict[str, Any]) -> list[str]:
    """Per-technique figures on held-out articles: how far each count can be trusted."""
    reliability = facts.get("reliability")
    if not isinstance(reliability, dict):
        return []
    shares = reliability.get("marked_sentence_share", {})
    lines = [
        "",
        f"## Reliability per technique ({reliability.get('split')}, "
        f"{reliability.get('articles')} articles)",
        "",
        f"Share of sentences marked: {shares.get('predicted', 0):.1%} by the model, "
        f"{shares.get('gold', 0):.1%} by the annotators. Per technique, FLC scores and the "
        "spans the model predicted against those the annotators marked (what a corpus "
        "report's counts over- or under-count):",
        "",
        "| technique | precision | recall | F1 | predicted | gold |",
        "|---|---|---|---|---|---|",
    ]
    for label, row in reliability.get("techniques", {}).items():
        lines.append(
            f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} "
            f"| {row['predicted']} | {row['gold']} |"
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
        "reliability",
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
        *_reliability_section(facts),
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
