"""The reference an article score is ranked against: a model's own marks on PTC train.

:func:`make_reference` runs a model over the train articles of a PTC corpus at its own
threshold and records every article's share of marked sentences;
:func:`write_reference` stores it beside the model's ``model.json``
(``scripts/article_reference.py MODEL_DIR`` does both).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from propscan.core.article_score import REFERENCE_FILE, ArticleReference
from propscan.pipeline import analyze_many, load_model
from propscan.ptc.splits import load_split


def make_reference(
    model_dir: str | os.PathLike[str], data: str | os.PathLike[str] | None = None
) -> ArticleReference:
    """Every PTC train article's share of marked sentences, as the model in ``model_dir``
    marks them at its own threshold (recorded, so that a view can tell when an analysis
    made at another threshold is not comparable)."""
    model = load_model(model_dir)
    train = load_split(data, "train")
    analyses = analyze_many([article.text for article in train.articles], model)
    return ArticleReference(
        corpus=f"PTC train ({len(train.articles)} news articles)",
        model=f"{model.name} {model.version}",
        threshold=model.decision_threshold,
        values=tuple(analysis.article_score.share for analysis in analyses),
    )


def write_reference(reference: ArticleReference, model_dir: str | os.PathLike[str]) -> Path:
    """Store ``reference`` as :data:`REFERENCE_FILE` in ``model_dir``; returns its path."""
    path = Path(model_dir) / REFERENCE_FILE
    path.write_text(json.dumps(reference.to_dict(), indent=1) + "\n", encoding="utf-8")
    return path
