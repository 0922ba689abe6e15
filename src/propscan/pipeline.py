"""From article text to an :class:`Analysis`: the path the CLI, the service and batch runs share.

A model predicts spans and per-token propaganda probabilities; the pipeline filters the
spans by technique, scores every sentence, and records which model produced the result.
:func:`analyze` and :func:`analyze_many` are the public entry points: they check the
threshold, the technique filter (against the model's own technique set) and the texts
with :func:`check_options`, which callers that must fail before they read their input
use too; the model trusts what it is given.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np

from propscan.core.analysis import Analysis, ModelInfo, SentenceScore
from propscan.core.checks import check_text, check_threshold
from propscan.core.sentences import sentence_ranges, split_sentences
from propscan.models.base import Detector, TokenScores
from propscan.models.registry import ModelSource, resolve_model

#: Texts handed to :meth:`Detector.predict` at once by :func:`analyze_many`: enough that
#: the transformer's encoder calls run side by side and rarely wait at a batch's end (a
#: detector reads back one text's encoder outputs at a time, so memory stays small).
BATCH_SIZE = 64

ModelArg = ModelSource


def load_model(model: str | os.PathLike[str] | None = None) -> Detector:
    """The model ``model`` names: ``None`` or ``"default"`` for the shipped one, the name of
    an installed model package (``"mpnet"``), or a model directory; each is loaded once."""
    return resolve_model(model)


def check_options(
    detector: Detector,
    threshold: float | None,
    techniques: Iterable[str] | str | None,
) -> tuple[float | None, frozenset[str] | None]:
    """The threshold (0..1 or None) and the techniques to keep, as labels of ``detector``'s
    set (None: keep all); a clear error for anything else."""
    keep = None if techniques is None else frozenset(detector.techniques.parse(techniques))
    return check_threshold(threshold), keep


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

    ``model`` is a loaded detector, an installed model's name, a model directory or
    ``None`` for the shipped model;
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
    detector = resolve_model(model)
    threshold, keep = check_options(detector, threshold, techniques)
    info = ModelInfo(str(detector.name), str(detector.version), detector.techniques)
    analyses: list[Analysis] = []
    for first in range(0, len(texts), BATCH_SIZE):
        batch = texts[first : first + BATCH_SIZE]
        predictions = detector.predict(batch, threshold=threshold)
        for offset, (text, prediction) in enumerate(zip(batch, predictions, strict=True)):
            title, url, source = metadata[first + offset]
            spans = tuple(
                span for span in prediction.spans if keep is None or span.technique in keep
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


def score_sentences(text: str, token_scores: TokenScores) -> tuple[SentenceScore, ...]:
    """Each sentence of ``text`` with the highest probability of a token inside it (else 0.0).

    A token straddling sentences counts in each of them.
    """
    bounds = np.asarray(split_sentences(text), dtype=np.int64).reshape(-1, 2)
    best = np.zeros(len(bounds))
    if len(bounds) and len(token_scores):
        first, last = sentence_ranges(bounds, *token_scores.offsets.T)
        counts = np.maximum(last - first, 0)
        token = np.repeat(np.arange(len(counts)), counts)
        sentence = (
            first[token] + np.arange(len(token)) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        np.maximum.at(best, sentence, token_scores.scores[token])
    return tuple(map(SentenceScore, *bounds.T.tolist(), best.tolist()))
