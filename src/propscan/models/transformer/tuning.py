"""Choosing a transformer detector's decoding settings on held-out train articles.

Every setting is chosen on the validation part of train (never on dev), one group at a
time over grids wide enough that the choice lands inside them, and the scores come with
a bootstrap interval over articles so that a difference can be read against the noise
of a ~90-article sample.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from propscan.core.spans import Annotations, Article, Span, merge_spans, to_si_annotations
from propscan.models.decoding import Calibration
from propscan.models.decoding_settings import DecodingSettings
from propscan.models.transformer.decoder import SpanDecoder
from propscan.models.transformer.detector import TransformerDetector
from propscan.models.transformer.scheduling import TokenOutputs
from propscan.ptc.scoring import score_flc, score_si, score_tc, top_techniques

TOKEN_THRESHOLDS = (0.02, 0.03, 0.04, 0.06, 0.08, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6)
MERGE_GAPS = (-1, 0, 5, 10, 20, 30, 45, 60, 90)
MIN_CHARACTERS = (0, 3, 6, 10, 15, 20, 30)
DECISION_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(0, 15))  # 0 .. 0.70
SENTENCE_GATES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
COMPANION_SHARES = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8)
SECOND_THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 1.01)
FRAGMENT_GAPS = (-1, 0, 5, 10, 20, 30, 45, 60)
REPETITION_MIN_REPEATS = (-1, 1, 2, 3, 4, 6, 8)
HANDOVER_SHARES = (-1.0, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)
PRIOR_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class Choice:
    """One chosen setting, where it sits in its grid, and the score that chose it."""

    setting: str
    value: Any
    grid: tuple[Any, ...]
    score: float

    @property
    def at_edge(self) -> bool:
        return len(self.grid) > 1 and self.value in (self.grid[0], self.grid[-1])


@dataclass
class Encoded:
    """Validation articles with their gold spans and encoder outputs, computed once and
    then decoded many times."""

    articles: Sequence[Article]
    gold: Annotations
    outputs: Sequence[TokenOutputs]

    @classmethod
    def of(
        cls, detector: TransformerDetector, articles: Sequence[Article], gold: Annotations
    ) -> Encoded:
        return cls(
            articles,
            gold.restrict(a.id for a in articles),
            detector.encode([a.text for a in articles]),
        )

    @property
    def si_gold(self) -> Annotations:
        return to_si_annotations(self.gold)


def _phrases(decoder: SpanDecoder, data: Encoded, threshold: float) -> Annotations:
    decoder = replace(decoder, settings=replace(decoder.settings, si_threshold=threshold))
    return Annotations(
        {
            article.id: tuple(c.span for c in decoder.phrases(article.text, output))
            for article, output in zip(data.articles, data.outputs, strict=True)
        }
    )


def predict(decoder: SpanDecoder, data: Encoded) -> Annotations:
    """FLC predictions of every validation article under ``decoder``'s settings."""
    return Annotations(
        {
            article.id: decoder.decode(article.text, output).spans
            for article, output in zip(data.articles, data.outputs, strict=True)
        }
    )


#: The widest each setting may go when a choice lands on the edge of its grid.
BOUNDS: dict[str, tuple[float, float]] = {
    "token_threshold": (0.02, 0.95),
    "companion_si_weight": (0.0, 1.0),
    "merge_gap": (-1, 300),
    "min_characters": (0, 120),
    "sentence_gate": (0.0, 10.0),
    "si_threshold": (0.0, 0.95),
    "companion_technique_weight": (0.0, 1.0),
    "second_technique_threshold": (0.05, 1.01),
    "fragment_gap": (-1, 300),
    "handover_share": (-1.0, 1.0),
    "repetition_min_repeats": (-1, 30),
    "technique_prior_weight": (0.0, 2.0),
}


def _best(setting: str, grid: Sequence[Any], score: Callable[[Any], float]) -> Choice:
    """The grid value with the highest score; ties go to the value nearest the grid middle.

    A choice on the edge of the grid extends the grid by one step in that direction (up to
    the setting's :data:`BOUNDS`) until the best value lies inside, so that no choice is an
    artefact of where a grid happened to stop.
    """
    values = list(grid)
    scores = [score(value) for value in values]
    low, high = BOUNDS.get(setting, (-math.inf, math.inf))
    for _ in range(8):
        if len(values) < 2:
            break
        middle = (len(values) - 1) / 2
        best = max(range(len(values)), key=lambda i: (scores[i], -abs(i - middle)))
        if best == 0 and values[0] > low:
            extension = max(values[0] - (values[1] - values[0]), low)
            values.insert(0, type(values[0])(round(extension, 4)))
            scores.insert(0, score(values[0]))
        elif best == len(values) - 1 and values[-1] < high:
            extension = min(values[-1] + (values[-1] - values[-2]), high)
            values.append(type(values[-1])(round(extension, 4)))
            scores.append(score(values[-1]))
        else:
            break
    middle = (len(values) - 1) / 2
    best = max(range(len(values)), key=lambda i: (scores[i], -abs(i - middle)))
    return Choice(setting, values[best], tuple(values), round(scores[best], 4))


def candidate_table(decoder: SpanDecoder, data: Encoded) -> tuple[np.ndarray, np.ndarray]:
    """Features (logit probability, log length) and gold share of every candidate phrase."""
    settings = decoder.settings
    features, targets = [], []
    token_threshold = settings.token_threshold if settings.token_threshold is not None else 0.5
    for article, output in zip(data.articles, data.outputs, strict=True):
        gold_spans = merge_spans(data.gold[article.id])
        inside = np.zeros(len(article.text) + 1, dtype=np.int64)
        for span in gold_spans:
            inside[span.start] += 1
            inside[span.end] -= 1
        covered = np.r_[0, np.cumsum(np.cumsum(inside)[:-1] > 0)]
        for candidate in decoder.runs(
            article.text,
            output,
            token_threshold,
            decoder.token_probabilities(output),
            settings.merge_gap,
        ):
            span = candidate.span
            features.append(Calibration.features(candidate.confidence, span.length))
            targets.append((covered[span.end] - covered[span.start]) / span.length)
    return np.asarray(features).reshape(-1, 2), np.asarray(targets)


def fit_calibration(features: np.ndarray, targets: np.ndarray) -> Calibration:
    """Platt scaling against the share of each candidate's characters inside gold spans."""
    from sklearn.linear_model import LogisticRegression

    if len(targets) < 10 or targets.min() == targets.max():
        return Calibration()
    x = np.concatenate([features, features])
    y = np.concatenate([np.ones(len(targets)), np.zeros(len(targets))])
    weights = np.concatenate([targets, 1.0 - targets])
    model = LogisticRegression(C=100.0, max_iter=1000).fit(x, y, sample_weight=weights)
    return Calibration(
        float(model.coef_[0, 0]), float(model.coef_[0, 1]), float(model.intercept_[0])
    )


def expected_calibration_error(scores: np.ndarray, targets: np.ndarray, bins: int = 10) -> float:
    """Mean |score − observed gold share| over equal-width score bins, weighted by count."""
    if len(scores) == 0:
        return 0.0
    edges = np.minimum((scores * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        members = edges == b
        if members.any():
            error += members.sum() * abs(scores[members].mean() - targets[members].mean())
    return float(error / len(scores))


def calibration_report(
    features: np.ndarray, targets: np.ndarray, calibration: Calibration
) -> dict[str, float]:
    """ECE of the raw mean token probability and of the calibrated score (2-fold cross-fit)."""
    raw = 1.0 / (1.0 + np.exp(-features[:, 0]))
    halves = np.arange(len(targets)) % 2
    cross = np.zeros(len(targets))
    for fold in (0, 1):
        fitted = fit_calibration(features[halves != fold], targets[halves != fold])
        cross[halves == fold] = [fitted.of_features(*row) for row in features[halves == fold]]
    return {
        "ece_mean_token_probability": round(expected_calibration_error(raw, targets), 4),
        "ece_calibrated_cross_fitted": round(expected_calibration_error(cross, targets), 4),
        "candidates": len(targets),
    }


def technique_accuracy(decoder: SpanDecoder, data: Encoded) -> float:
    """Share of gold spans whose most probable technique is one of their gold techniques."""
    correct = total = 0
    for article, output in zip(data.articles, data.outputs, strict=True):
        labels: dict[tuple[int, int], set[str]] = {}
        for span in data.gold[article.id]:
            labels.setdefault((span.start, span.end), set()).add(str(span.technique))
        if not labels:
            continue
        offsets = sorted(labels)
        rows = decoder.technique_probabilities(
            article.text, output, [Span(start, end) for start, end in offsets]
        )
        for offset, row in zip(offsets, rows, strict=True):
            correct += decoder.techniques[int(np.argmax(row))] in labels[offset]
            total += 1
    return correct / total if total else 0.0


def technique_balance(decoder: SpanDecoder, data: Encoded) -> float:
    """Mean of TC micro- and macro-F1 on the gold spans: accuracy on the frequent techniques
    and F1 of the rare ones weighed alike, so that naming rare techniques may cost a
    little accuracy but not more than it gains."""
    labelled = gold_span_techniques(decoder, data)
    scores = score_tc(data.gold.restrict(labelled.spans), labelled, decoder.techniques)
    return (scores.micro_f1 + scores.macro_f1) / 2


def technique_shares(
    articles: Iterable[Article], gold: Annotations, techniques: Sequence[str]
) -> tuple[float, ...]:
    """Each technique's share of the gold spans of ``articles`` (add-one smoothed, so no
    share is 0), rounded as ``model.json`` stores it: the prior of ``technique_prior``."""
    counts = Counter(str(span.technique) for article in articles for span in gold[article.id])
    total = sum(counts[technique] for technique in techniques) + len(techniques)
    return tuple(round((counts[technique] + 1) / total, 6) for technique in techniques)


def decoder_with_prior(
    decoder: SpanDecoder, fitted_on: Iterable[Article], gold: Annotations
) -> SpanDecoder:
    """``decoder`` as it is when its model recorded a technique prior, else given the prior
    of the articles it was fitted on (a model trained before the prior was recorded)."""
    if decoder.settings.technique_prior:
        return decoder
    prior = technique_shares(fitted_on, gold, decoder.techniques)
    return decoder.with_settings(replace(decoder.settings, technique_prior=prior))


def tune_decoding(
    decoder: SpanDecoder, data: Encoded, fixed: dict[str, Any] | None = None
) -> tuple[DecodingSettings, list[Choice], dict[str, float]]:
    """Choose every decoding setting on ``data``; ``fixed`` settings are kept as given.

    SI settings maximise SI F1 (two rounds of coordinate search), the calibration is fitted
    on the chosen candidates, technique settings maximise technique accuracy on gold
    spans, the weight of the technique prior (when the decoder has one) maximises
    :func:`technique_balance`, and the second-technique threshold, the fragment gap and the
    handover share maximise FLC F1.
    """
    fixed = dict(fixed or {})
    has_companion = decoder.companion is not None
    has_sentence_head = any(output.sentence_prob is not None for output in data.outputs)
    grids: dict[str, tuple[Any, ...]] = {
        "token_threshold": TOKEN_THRESHOLDS,
        "companion_si_weight": COMPANION_SHARES if has_companion else (0.0,),
        "merge_gap": MERGE_GAPS,
        "min_characters": MIN_CHARACTERS,
        "sentence_gate": SENTENCE_GATES if has_sentence_head else (0.0,),
    }
    start = {
        "token_threshold": 0.2,
        "companion_si_weight": 0.35 if has_companion else 0.0,
        "merge_gap": -1,
        "min_characters": 0,
        "sentence_gate": 0.0,
        "trim_function_words": True,
        "whole_words": True,
        "complete_phrases": True,
        "si_threshold": 0.0,
        "calibration": (1.0, 0.0, 0.0),
        "repetition_needs_recurrence": True,
        "fragment_gap": -1,
        "technique_prior_weight": 0.0,
    }
    settings = replace(decoder.settings, **{**start, **fixed})
    si_gold = data.si_gold

    def si_f1(candidate: DecodingSettings, threshold: float = 0.0) -> float:
        return score_si(si_gold, _phrases(decoder.with_settings(candidate), data, threshold)).f1

    choices: dict[str, Choice] = {}
    # the token threshold first, from plain runs, so that the search starts where the
    # score is not flat (a model's probabilities may sit far below 0.5)
    if "token_threshold" not in fixed:
        first = _best(
            "token_threshold",
            TOKEN_THRESHOLDS,
            lambda t: si_f1(replace(settings, token_threshold=t)),
        )
        settings = replace(settings, token_threshold=first.value)
    for _ in range(2):
        for name, grid in grids.items():
            if name in fixed:
                continue
            current = settings

            def score(value: Any, setting: str = name, base: DecodingSettings = current) -> float:
                return si_f1(replace(base, **{setting: value}))

            choice = _best(name, grid, score)
            choices[name] = choice
            settings = replace(settings, **{name: choice.value})

    features, targets = candidate_table(decoder.with_settings(settings), data)
    calibration = (
        Calibration(*fixed["calibration"])
        if "calibration" in fixed
        else (fit_calibration(features, targets))
    )
    settings = replace(settings, calibration=(calibration.a, calibration.b, calibration.c))
    if "si_threshold" not in fixed:
        choices["si_threshold"] = _best(
            "si_threshold", DECISION_THRESHOLDS, lambda t: si_f1(settings, t)
        )
        settings = replace(settings, si_threshold=choices["si_threshold"].value)

    def tc_accuracy(name: str, value: Any) -> float:
        return technique_accuracy(decoder.with_settings(replace(settings, **{name: value})), data)

    # the technique settings, each given the ones chosen before it
    tc_grids = {
        "companion_technique_weight": COMPANION_SHARES if has_companion else (),
        "repetition_min_repeats": REPETITION_MIN_REPEATS,
    }
    for name, grid in tc_grids.items():
        if name in fixed or len(grid) < 2:
            continue
        choices[name] = _best(name, grid, functools.partial(tc_accuracy, name))
        settings = replace(settings, **{name: choices[name].value})
    if settings.technique_prior and "technique_prior_weight" not in fixed:
        choices["technique_prior_weight"] = _best(
            "technique_prior_weight",
            PRIOR_WEIGHTS,
            lambda w: technique_balance(
                decoder.with_settings(replace(settings, technique_prior_weight=w)), data
            ),
        )
        settings = replace(settings, technique_prior_weight=choices["technique_prior_weight"].value)

    def flc_f1(name: str, value: Any) -> float:
        candidate = decoder.with_settings(replace(settings, **{name: value}))
        return score_flc(data.gold, predict(candidate, data)).f1

    # the FLC settings, each given the ones chosen before it
    flc_grids = {
        "second_technique_threshold": SECOND_THRESHOLDS,
        "fragment_gap": tuple(g for g in FRAGMENT_GAPS if g < settings.merge_gap),
        "handover_share": HANDOVER_SHARES,
    }
    for name, grid in flc_grids.items():
        inert = name == "handover_share" and settings.fragment_gap < 0  # no fragments
        if name in fixed or len(grid) < 2 or inert:
            continue
        choices[name] = _best(name, grid, functools.partial(flc_f1, name))
        settings = replace(settings, **{name: choices[name].value})
    report = calibration_report(features, targets, calibration)
    return settings, list(choices.values()), report


# -- scores with bootstrap intervals ----------------------------------------------------------


@dataclass(frozen=True)
class ScoreWithInterval:
    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _span_sums(
    gold: Annotations, predicted: Annotations, ids: Iterable[str], flc: bool
) -> np.ndarray:
    """Per article: precision sum, predicted count, recall sum, gold count."""
    rows = []
    for article_id in ids:
        g = gold.restrict([article_id])
        p = predicted.restrict([article_id])
        scores = score_flc(g, p) if flc else score_si(g, p)
        rows.append(
            [
                scores.precision * scores.predicted_count,
                scores.predicted_count,
                scores.recall * scores.gold_count,
                scores.gold_count,
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def _span_f1(sums: np.ndarray) -> float:
    total = sums.sum(axis=0)
    precision = total[0] / total[1] if total[1] else 0.0
    recall = total[2] / total[3] if total[3] else 0.0
    return _f1(precision, recall)


def bootstrap_scores(
    gold: Annotations,
    predicted: Annotations,
    technique_hits: dict[str, tuple[int, int]],
    ids: Sequence[str],
    samples: int = 1000,
    seed: int = 0,
) -> dict[str, ScoreWithInterval]:
    """SI, TC and FLC F1 with 95% percentile intervals from resampling articles."""
    si = _span_sums(to_si_annotations(gold.restrict(ids)), predicted, ids, False)
    flc = _span_sums(gold, predicted, ids, True)
    tc = np.asarray([technique_hits.get(i, (0, 0)) for i in ids], dtype=np.float64).reshape(-1, 2)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {"si": [], "tc": [], "flc": []}
    for _ in range(samples):
        pick = rng.integers(0, len(ids), len(ids))
        draws["si"].append(_span_f1(si[pick]))
        draws["flc"].append(_span_f1(flc[pick]))
        hits = tc[pick].sum(axis=0)
        draws["tc"].append(hits[0] / hits[1] if hits[1] else 0.0)
    point = {
        "si": _span_f1(si),
        "flc": _span_f1(flc),
        "tc": tc[:, 0].sum() / max(tc[:, 1].sum(), 1),
    }
    return {
        key: ScoreWithInterval(
            point[key], float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))
        )
        for key, values in draws.items()
    }


def flc_intervals(
    gold: Annotations,
    predicted: Annotations,
    ids: Sequence[str],
    techniques: Sequence[str],
    samples: int = 1000,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """95% percentile interval of each technique's FLC F1 from resampling articles (the
    same draws for every technique): how far a rare technique's score can be trusted."""
    rng = np.random.default_rng(seed)
    picks = [rng.integers(0, len(ids), len(ids)) for _ in range(samples)]
    intervals = {}
    for technique in techniques:
        sums = _span_sums(
            _of_technique(gold, technique), _of_technique(predicted, technique), ids, False
        )
        draws = [_technique_f1(sums[pick]) for pick in picks]
        intervals[technique] = (float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5)))
    return intervals


def _technique_f1(sums: np.ndarray) -> float:
    """F1 of one technique; 1 where a draw holds neither gold nor predicted spans of it, as
    the official FLC scorer scores a technique absent from both sides."""
    total = sums.sum(axis=0)
    return 1.0 if total[1] == total[3] == 0 else _span_f1(sums)


def _of_technique(annotations: Annotations, technique: str) -> Annotations:
    return Annotations(
        {
            aid: tuple(s for s in spans if s.technique == technique)
            for aid, spans in annotations.spans.items()
        }
    )


def gold_span_techniques(decoder: SpanDecoder, data: Encoded) -> Annotations:
    """Every gold span labelled with as many of its most probable techniques as gold gives
    it labels (the TC convention of ``evaluate``)."""
    labelled = {}
    for article, output in zip(data.articles, data.outputs, strict=True):
        repeats = Counter((span.start, span.end) for span in data.gold[article.id])
        offsets = sorted(repeats)
        rows = decoder.technique_probabilities(
            article.text, output, [Span(start, end) for start, end in offsets]
        )
        labelled[article.id] = tuple(
            Span(start, end, technique)
            for (start, end), row in zip(offsets, rows, strict=True)
            for technique in top_techniques(row, decoder.techniques, repeats[start, end])
        )
    return Annotations(labelled)


def technique_hits(gold: Annotations, labelled: Annotations) -> dict[str, tuple[int, int]]:
    """Per article with gold spans, (correct, total) gold labels of ``labelled``."""
    hits = {}
    for article_id, spans in labelled.spans.items():
        gold_labels = Counter((s.start, s.end, s.technique) for s in gold[article_id])
        if gold_labels:
            predicted = Counter((s.start, s.end, s.technique) for s in spans)
            hits[article_id] = ((predicted & gold_labels).total(), gold_labels.total())
    return hits
