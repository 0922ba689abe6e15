"""From article text to an :class:`Analysis`: the path the CLI, the service and batch runs share.

A model predicts spans and per-token propaganda probabilities; the pipeline filters the
spans by technique, scores every sentence, and records which model produced the result.
:func:`analyze` and :func:`analyze_many` are the public entry points, so they check the
threshold, the technique filter and the texts once; the model trusts what it is given.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence

import numpy as np

from propscan.core.analysis import Analysis, ModelInfo, SentenceScore
from propscan.core.checks import check_text, check_threshold
from propscan.core.sentences import split_sentences
from propscan.core.spans import Span
from propscan.core.techniques import parse_techniques
from propscan.errors import PropscanError
from propscan.models.base import DEFAULT_MODEL_DIR, Detector, TokenScores
from propscan.models.registry import load_detector

#: Texts handed to :meth:`Detector.predict` at once by :func:`analyze_many`: enough that
#: the transformer's encoder calls run side by side and rarely wait at a batch's end (a
#: detector reads back one text's encoder outputs at a time, so memory stays small).
BATCH_SIZE = 64

ModelArg = Detector | str | os.PathLike[str] | None


def load_model(path: str | os.PathLike[str] | None = None) -> Detector:
    """The model in directory ``path``, or the model shipped with propscan (loaded once)."""
    if path is None:
        return _default_model()
    return load_detector(path)


@functools.cache
def _default_model() -> Detector:
    if not (DEFAULT_MODEL_DIR / "model.json").is_file():
        raise PropscanError(
            "this installation of propscan ships no model; pass a model directory "
            "(--model DIR) made with 'propscan train'"
        )
    return load_detector(DEFAULT_MODEL_DIR)


def analyze(
    text: str,
    model: ModelArg = None,
    *,
    threshold: float | None = None,
    techniques: Iterable[str] | str | None = None,
    title: str | None = None,
    url: str | None = None,
    source: str | None = None,
) -> Analysis:
    """Find propaganda spans in one article and score its sentences.

    ``model`` is a loaded detector, a model directory or ``None`` for the shipped model;
    ``threshold`` overrides the model's tuned decision threshold; ``techniques`` keeps only
    spans of those labels.
    """
    [analysis] = _analyze_batch([text], model, threshold, techniques, [(title, url, source)])
    return analysis


def analyze_many(
    texts: Sequence[str],
    model: ModelArg = None,
    *,
    threshold: float | None = None,
    techniques: Iterable[str] | str | None = None,
) -> list[Analysis]:
    """:func:`analyze` for many articles, sent to the model in batches for throughput."""
    return _analyze_batch(texts, model, threshold, techniques, [(None, None, None)] * len(texts))


def _analyze_batch(
    texts: Sequence[str],
    model: ModelArg,
    threshold: float | None,
    techniques: Iterable[str] | str | None,
    metadata: Sequence[tuple[str | None, str | None, str | None]],
) -> list[Analysis]:
    for number, text in enumerate(texts, start=1):
        check_text(text, f"article {number} of {len(texts)}" if len(texts) > 1 else "the article")
    threshold = check_threshold(threshold)
    keep = None if techniques is None else frozenset(parse_techniques(techniques))
    detector = _resolve_model(model)
    info = ModelInfo(name=str(detector.name), version=str(detector.version))
    analyses: list[Analysis] = []
    for first in range(0, len(texts), BATCH_SIZE):
        batch = texts[first : first + BATCH_SIZE]
        predictions = detector.predict(batch, threshold=threshold)
        for offset, (text, prediction) in enumerate(zip(batch, predictions, strict=True)):
            title, url, source = metadata[first + offset]
            spans = tuple(
                Span(span.start, span.end, span.technique, float(span.score))
                if span.score is not None
                else span
                for span in prediction.spans
                if keep is None or span.technique in keep
            )
            analyses.append(
                Analysis(
                    text=text,
                    spans=spans,
                    sentences=score_sentences(text, prediction.token_scores),
                    model=info,
                    threshold=threshold,
                    title=title,
                    url=url,
                    source=source,
                )
            )
    return analyses


def _resolve_model(model: ModelArg) -> Detector:
    if model is None or isinstance(model, str | os.PathLike):
        return load_model(model)
    return model


def score_sentences(text: str, token_scores: TokenScores) -> tuple[SentenceScore, ...]:
    """Each sentence of ``text`` with the highest probability of a token inside it (else 0.0).

    A token straddling sentences counts in each of them.
    """
    bounds = np.asarray(split_sentences(text), dtype=np.int64).reshape(-1, 2)
    best = np.zeros(len(bounds))
    if len(bounds) and len(token_scores):
        starts, ends = token_scores.offsets.T
        # sentences [first, last) start before the token ends; the first holds its start
        first = np.maximum(np.searchsorted(bounds[:, 0], starts, side="right") - 1, 0)
        last = np.searchsorted(bounds[:, 0], ends, side="left")
        counts = np.maximum(last - first, 0)
        token = np.repeat(np.arange(len(counts)), counts)
        sentence = (
            first[token] + np.arange(len(token)) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        inside = starts[token] < bounds[sentence, 1]
        np.maximum.at(best, sentence[inside], token_scores.scores[token[inside]])
    return tuple(map(SentenceScore, *bounds.T.tolist(), best.tolist()))
