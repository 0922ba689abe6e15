"""Evaluate a model on a labelled corpus: predictions in PTC files plus SI, TC and FLC scores.

The prediction files are the ones the official scorers read, so every number here
can be reproduced with ``propscan score`` (or the SemEval scripts) on those files.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from propscan.core.checks import check_threshold
from propscan.core.spans import Annotations, Article, Span, to_si_annotations
from propscan.errors import PropscanError
from propscan.models.base import Detector, predict_as_read
from propscan.ptc.io import write_labels
from propscan.ptc.scoring import (
    SCORES_SCHEMA_VERSION,
    SpanScores,
    TcScores,
    score_flc,
    score_si,
    score_tc,
    top_techniques,
)
from propscan.ptc.splits import check_gold

#: The headline numbers of a results table, in order, with their column headings.
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("si_precision", "SI P"),
    ("si_recall", "SI R"),
    ("si_f1", "SI F1"),
    ("tc_micro_f1", "TC micro-F1"),
    ("tc_macro_f1", "TC macro-F1"),
    ("flc_precision", "FLC P"),
    ("flc_recall", "FLC R"),
    ("flc_f1", "FLC F1"),
)

SI_FILE = "si.labels"
FLC_FILE = "flc.labels"
TC_FILE = "tc.labels"
_BATCH = 8


@dataclass(frozen=True)
class EvaluationResult:
    """Scores of one evaluation and where its prediction files are.

    ``tc`` is None when the gold annotations have no spans to classify.
    """

    si: SpanScores
    tc: TcScores | None
    flc: SpanScores
    articles: int
    out_dir: Path
    model_name: str
    model_version: str
    seconds: float
    #: Time spent finding spans (the work of ``analyze``), without technique classification.
    predict_seconds: float = 0.0

    def summary(self) -> dict[str, float]:
        """The headline numbers of a results table."""
        numbers = {
            "si_precision": self.si.precision,
            "si_recall": self.si.recall,
            "si_f1": self.si.f1,
            "flc_precision": self.flc.precision,
            "flc_recall": self.flc.recall,
            "flc_f1": self.flc.f1,
        }
        if self.tc is not None:
            numbers["tc_micro_f1"] = self.tc.micro_f1
            numbers["tc_macro_f1"] = self.tc.macro_f1
        return numbers

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCORES_SCHEMA_VERSION,
            "model": {"name": self.model_name, "version": self.model_version},
            "articles": self.articles,
            "seconds": round(self.seconds, 3),
            "summary": self.summary(),
            "si": self.si.to_dict(),
            "tc": self.tc.to_dict() if self.tc is not None else None,
            "flc": self.flc.to_dict(),
            "files": {
                task: str(self.out_dir / name)
                for task, name in (("si", SI_FILE), ("tc", TC_FILE), ("flc", FLC_FILE))
            },
        }


def predict_articles(
    detector: Detector,
    articles: Sequence[Article],
    threshold: float | None = None,
    progress: bool = False,
) -> Annotations:
    """FLC predictions of ``detector`` for every article, in small batches."""
    spans: dict[str, tuple[Span, ...]] = {}
    with tqdm(total=len(articles), desc="predicting", disable=None if progress else True) as bar:
        for begin in range(0, len(articles), _BATCH):
            batch = articles[begin : begin + _BATCH]
            predictions = predict_as_read(detector, [article.text for article in batch], threshold)
            for article, prediction in zip(batch, predictions, strict=True):
                spans[article.id] = prediction.spans
            bar.update(len(batch))
    return Annotations(spans)


def classify_gold_spans(
    detector: Detector, articles: Sequence[Article], gold: Annotations, progress: bool = False
) -> Annotations:
    """TC predictions: when the same offsets appear k times in ``gold``, the span gets its
    k most probable techniques (the SemEval TC convention for overlapping labels)."""
    pairs: list[tuple[str, Span]] = []
    for article in tqdm(articles, desc="classifying", disable=None if progress else True):
        repeats = Counter((span.start, span.end) for span in gold[article.id])
        if not repeats:
            continue
        offsets = sorted(repeats)
        rows = detector.classify(article.text, [Span(start, end) for start, end in offsets])
        for (start, end), probabilities in zip(offsets, rows, strict=True):
            labels = list(probabilities)
            best = top_techniques([probabilities[t] for t in labels], labels, repeats[(start, end)])
            pairs.extend((article.id, Span(start, end, technique)) for technique in best)
    return Annotations.from_pairs(pairs)


def evaluate(
    detector: Detector,
    articles: Sequence[Article],
    gold_flc: Annotations,
    out_dir: str | os.PathLike[str],
    *,
    threshold: float | None = None,
    progress: bool = False,
) -> EvaluationResult:
    """Predict ``articles``, write ``si.labels``, ``flc.labels`` and ``tc.labels`` to
    ``out_dir`` and score them against ``gold_flc`` (restricted to these articles).

    Gold SI spans are the FLC gold spans merged; ``threshold`` overrides the model's
    span threshold.
    """
    if not articles:
        raise PropscanError("no articles to evaluate")
    threshold = check_threshold(threshold)
    started = time.monotonic()
    gold = gold_flc.restrict(article.id for article in articles)
    check_gold(articles, gold, "evaluation")
    predict_started = time.monotonic()
    predicted = predict_articles(detector, articles, threshold, progress)
    predict_seconds = time.monotonic() - predict_started
    classified = classify_gold_spans(detector, articles, gold, progress)

    folder = Path(out_dir)
    predicted_si = to_si_annotations(predicted)
    write_labels(folder / SI_FILE, predicted_si, "si")  # a write that fails says where
    write_labels(folder / FLC_FILE, predicted, "flc")
    write_labels(folder / TC_FILE, classified, "flc")
    return EvaluationResult(
        si=score_si(to_si_annotations(gold), predicted_si),
        tc=score_tc(gold, classified, detector.techniques) if len(gold) else None,
        flc=score_flc(gold, predicted, detector.techniques),
        articles=len(articles),
        out_dir=folder,
        model_name=detector.name,
        model_version=detector.version,
        seconds=time.monotonic() - started,
        predict_seconds=predict_seconds,
    )
