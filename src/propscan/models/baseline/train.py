"""Training the classical baseline: a minute on 2 CPU cores, deterministic for a seed.

The span model is a logistic word classifier fitted by SGD; the technique model a
multinomial logistic regression. Both thresholds are then tuned on the held-out
validation part of train (:func:`propscan.ptc.splits.validation_ids`), scored with the
official-equal scorers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from tqdm import tqdm

from propscan.core.spans import Annotations, Article, to_si_annotations
from propscan.core.techniques import TechniqueSet
from propscan.errors import PropscanError
from propscan.models.base import techniques_of
from propscan.models.baseline.detector import (
    HASH_BITS,
    KIND,
    BaselineDetector,
    SpanModel,
    TechniqueModel,
)
from propscan.models.baseline.technique_features import (
    ArticleContext,
    TfidfSpace,
    context_words,
    technique_features,
)
from propscan.models.baseline.word_features import KeyCache, token_features, token_labels, tokenize
from propscan.models.decoding import Candidate, label_top_two
from propscan.models.registry import TrainingOptions, capped_articles, own_model_name
from propscan.ptc.scoring import score_flc, score_si
from propscan.ptc.splits import Split, check_gold, held_out_ids

#: Stochastic gradient steps of the span model (about 15 passes over the PTC train split).
SPAN_MODEL_UPDATES = 5_000_000


def _progress(items: Iterable[Any], enabled: bool, description: str, total: int) -> Iterable[Any]:
    """A tqdm bar on stderr, hidden when disabled or when stderr is not a terminal."""
    return tqdm(items, desc=description, total=total, disable=None if enabled else True)


def _fit_span_model(
    articles: Sequence[Article], gold: Annotations, seed: int, progress: bool
) -> SpanModel:
    cache = KeyCache()
    matrices, labels = [], []
    for article in _progress(articles, progress, "span features", len(articles)):
        tokens = tokenize(article.text)
        matrices.append(token_features(article.text, tokens, HASH_BITS, cache))
        labels.append(token_labels(tokens, gold[article.id], len(article.text)))
    target = np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)
    if len(set(target.tolist())) < 2:
        raise PropscanError(
            "cannot train the span model: the training articles need both propaganda "
            "and non-propaganda words (check that the gold labels match the articles)"
        )
    # A fixed number of updates rather than of epochs: small training sets get more passes,
    # without which their weights stay at the large early steps and probabilities are extreme.
    epochs = int(np.clip(math.ceil(SPAN_MODEL_UPDATES / len(target)), 15, 200))
    classifier = SGDClassifier(
        loss="log_loss", alpha=5e-5, max_iter=epochs, tol=None, average=True, random_state=seed
    )
    classifier.fit(sparse.vstack(matrices, format="csr"), target)
    # float32 weights: half the size on disk, and a reloaded model predicts exactly the same.
    return SpanModel(classifier.coef_[0].astype(np.float32), float(classifier.intercept_[0]))


def _fit_technique_model(
    articles: Sequence[Article], gold: Annotations, seed: int
) -> TechniqueModel:
    contexts, spans = [], []
    target: list[str] = []  # each span's technique
    for article in articles:
        context = ArticleContext.of(article.text)
        for span in gold[article.id]:
            if span.technique is None:  # a meme span outside the 14: for span finding only
                continue
            contexts.append(context)
            spans.append(span)
            target.append(span.technique)
    if not spans:
        raise PropscanError("cannot train the technique model: the gold labels have no spans")
    fragments = [span.fragment(c.text) for c, span in zip(contexts, spans, strict=True)]
    around = [context_words(c, span) for c, span in zip(contexts, spans, strict=True)]
    spaces = (
        TfidfSpace.fit("word", fragments),
        TfidfSpace.fit("char", fragments),
        TfidfSpace.fit("context", around),
    )
    features = technique_features(spaces, contexts, spans)
    classes = tuple(sorted(set(target)))
    if len(classes) == 1:  # a single technique: it always gets probability 1
        coef = np.zeros((1, features.shape[1]))
        return TechniqueModel(spaces, classes, coef, np.zeros(1))
    classifier = LogisticRegression(
        C=10.0, solver="saga", tol=1e-3, max_iter=100, random_state=seed
    )
    with warnings.catch_warnings():  # iterations are capped on purpose: training stays fast
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(features, target)
    coef, intercept = classifier.coef_, classifier.intercept_
    if len(classes) == 2:  # binary sklearn models keep one row: softmax([0, z]) = sigmoid(z)
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.r_[0.0, intercept]
    return TechniqueModel(spaces, tuple(classifier.classes_), coef.astype(np.float32), intercept)


def _best_threshold(candidates: Sequence[float], score: Callable[[float], float]) -> float:
    """The candidate with the highest score (the lowest one among ties)."""
    results = [(score(candidate), -candidate) for candidate in candidates]
    return -max(results)[1]


def _tune_thresholds(
    detector: BaselineDetector, articles: Sequence[Article], gold: Annotations
) -> tuple[float, float, dict[str, float]]:
    """SI and second-technique thresholds that maximise SI and FLC F1 on held-out articles."""
    decoded = []
    for article in articles:
        tokens, probabilities = detector.span_model.token_probabilities(article.text)
        decoded.append((article, tokens, probabilities))
    gold_si = to_si_annotations(gold.restrict(article.id for article in articles))

    def found_at(threshold: float) -> dict[str, list[Candidate]]:
        return {
            article.id: detector.find_spans(article.text, tokens, probabilities, threshold)
            for article, tokens, probabilities in decoded
        }

    def si_at(threshold: float) -> Annotations:
        found = found_at(threshold)
        return Annotations({aid: tuple(c.span for c in spans) for aid, spans in found.items()})

    si_threshold = _best_threshold(
        [round(0.05 * step, 2) for step in range(2, 19)],
        lambda t: score_si(gold_si, si_at(t)).f1,
    )
    texts = {article.id: article.text for article in articles}
    rows = {
        aid: (
            found,
            detector.technique_model.probabilities(
                texts[aid], [c.span for c in found], detector.techniques
            ),
        )
        for aid, found in found_at(si_threshold).items()
    }
    gold_flc = gold.restrict(article.id for article in articles)

    def flc_at(threshold: float) -> Annotations:
        return Annotations(
            {
                aid: tuple(label_top_two(found, probabilities, detector.techniques, threshold))
                for aid, (found, probabilities) in rows.items()
            }
        )

    second_technique_threshold = _best_threshold(
        [round(0.05 * step, 2) for step in range(2, 21)],
        lambda t: score_flc(gold_flc, flc_at(t)).f1,
    )
    metrics = {
        "validation_si_f1": score_si(gold_si, si_at(si_threshold)).f1,
        "validation_flc_f1": score_flc(gold_flc, flc_at(second_technique_threshold)).f1,
    }
    return si_threshold, second_technique_threshold, metrics


def train_baseline(
    articles: Sequence[Article],
    gold: Annotations,
    *,
    seed: int = 0,
    validation_fraction: float = 0.1,
    techniques: TechniqueSet | None = None,
    progress: bool = True,
) -> BaselineDetector:
    """Train on ``articles`` minus the held-out validation part, which tunes the thresholds.

    The validation part is :func:`propscan.ptc.splits.held_out_ids` of the articles
    (``validation_fraction`` of the PTC ones: memes are for fitting only); when it is
    empty (tiny training sets, or a fraction of 0) the default thresholds are kept.
    ``techniques`` is the model's label set (default: the gold labels of ``articles``).
    """
    check_gold(articles, gold, "training", unlabelled_ok=True)
    held_out = held_out_ids(articles, validation_fraction)
    fit_articles = [article for article in articles if article.id not in held_out]
    tune_articles = [article for article in articles if article.id in held_out]
    if not fit_articles:
        raise PropscanError("cannot train: every training article is in the validation part")
    span_model = _fit_span_model(fit_articles, gold, seed, progress)
    detector = BaselineDetector(
        span_model,
        _fit_technique_model(fit_articles, gold, seed),
        techniques=techniques or techniques_of(gold.restrict(a.id for a in articles)),
    )
    training: dict[str, Any] = {
        "seed": seed,
        "articles": len(fit_articles),
        "validation_articles": len(tune_articles),
    }
    if not tune_articles:
        return replace(detector, training=training)
    si_threshold, second_technique_threshold, metrics = _tune_thresholds(
        detector, tune_articles, gold
    )
    return replace(
        detector,
        si_threshold=si_threshold,
        second_technique_threshold=second_technique_threshold,
        training={**training, **{key: round(value, 4) for key, value in metrics.items()}},
    )


DESCRIPTION = (
    "A classical model: a linear token classifier over hashed word features for span "
    "identification and a logistic regression over span n-grams and document features "
    "for techniques."
)


def train_model(
    split: Split, out: Path, options: TrainingOptions, progress: bool = True
) -> dict[str, Any]:
    """Train on ``split`` into ``out``; returns the model card's facts (``TRAINERS`` entry)."""
    if options.settings:
        raise PropscanError(
            f"the baseline has no training setting {next(iter(options.settings))!r}; "
            "settings are for --kind transformer"
        )
    if options.teachers:
        raise PropscanError(
            "the baseline learns from gold alone; --teacher is for --kind transformer"
        )
    if options.twin is not None:
        raise PropscanError("--with-dev is for --kind transformer")
    articles = capped_articles(split.articles, options.max_articles)
    model = train_baseline(
        articles, split.gold, seed=options.seed, techniques=split.techniques, progress=progress
    )
    model = replace(
        model,
        name=options.name or own_model_name(out, model.name),
        version=options.version or model.version,
    )
    model.save(out)
    return {
        "kind": KIND,
        "name": model.name,
        "version": model.version,
        "description": DESCRIPTION,
        "settings": {"seed": options.seed},
        "scores": {},
        "data": {
            "corpus": "PTC v2",
            "train articles": sum(article.corpus is None for article in articles),
            "validation": "held-out ~10% of train (by id hash)",
        },
    }
