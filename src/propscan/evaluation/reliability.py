"""How far a model's counts can be trusted: its figures on held-out labelled articles.

A corpus report counts marks per technique and the share of marked sentences; a reader
needs to know where those counts run high or low. :func:`reliability_facts` turns an
evaluation on held-out articles (PTC dev: never used for training or tuning) into the
``reliability`` facts of a model card: per technique its FLC precision, recall and F1 and
how many spans it predicted against how many the annotators marked, and the share of
sentences it marks against the share the annotators marked. ``propscan train`` records
them; ``scripts/model_reliability.py MODEL_DIR`` adds them to an existing model's card.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from propscan.core.article_score import marked_sentences
from propscan.core.sentences import split_sentences
from propscan.core.spans import Annotations, Article
from propscan.core.techniques import TechniqueSet
from propscan.evaluation.evaluate import FLC_FILE, EvaluationResult
from propscan.ptc.io import read_labels
from propscan.ptc.scoring import SpanScores

#: The key of a model card's facts (``training.json``) that holds them.
FACTS_KEY = "reliability"


def marked_sentence_share(articles: Sequence[Article], spans: Annotations) -> float:
    """The share of all sentences of ``articles`` that hold one of ``spans`` (pooled)."""
    marked = total = 0
    for article in articles:
        bounds = split_sentences(article.text)
        marked += marked_sentences(bounds, spans[article.id])
        total += len(bounds)
    return marked / total if total else 0.0


def reliability_facts(
    result: EvaluationResult,
    articles: Sequence[Article],
    gold: Annotations,
    split: str,
    techniques: TechniqueSet,
) -> dict[str, Any]:
    """The ``reliability`` facts of an evaluation of ``articles`` (of ``split``) against
    ``gold``, from the scores and the FLC predictions the evaluation wrote with a model of
    ``techniques``."""
    predicted = read_labels(
        result.out_dir / FLC_FILE, "flc", allow_unknown_technique=True, techniques=techniques
    )
    return {
        "split": split,
        "articles": len(articles),
        "marked_sentence_share": {
            "predicted": round(marked_sentence_share(articles, predicted), 4),
            "gold": round(marked_sentence_share(articles, gold), 4),
        },
        "techniques": technique_figures(result.flc),
    }


def technique_figures(flc: SpanScores) -> dict[str, dict[str, float | int]]:
    """Per technique: FLC precision, recall and F1, and the spans predicted and in gold."""
    return {
        technique: {
            "precision": round(prf.precision, 4),
            "recall": round(prf.recall, 4),
            "f1": round(prf.f1, 4),
            "predicted": prf.predicted_count,
            "gold": prf.gold_count,
        }
        for technique, prf in flc.per_technique.items()
    }
