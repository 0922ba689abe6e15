"""From article text to an :class:`Analysis`: the path the CLI, the service and batch runs share.

A model predicts spans and per-token propaganda probabilities; the pipeline filters the
spans by technique and confidence band, scores every sentence by its most confident span
(:func:`propscan.core.confidence.sentence_scores`, one definition for every view), keeps
the words that carried each span's decision (:func:`span_evidence`), ranks the article
against its model's reference articles, and records which model and threshold produced
the result. :func:`analyze` and :func:`analyze_many` are the public entry points: they
check the threshold, the technique filter (against the model's own technique set), the
band and the texts with :func:`check_options` and :func:`propscan.core.confidence.parse_band`,
which callers that must fail before they read their input use too; the model trusts what
it is given.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from propscan.core.analysis import Analysis, Evidence, ModelInfo, SentenceScore
from propscan.core.article_score import (
    REFERENCE_FILE,
    ArticleReference,
    read_reference,
    score_article,
)
from propscan.core.checks import check_text, check_threshold
from propscan.core.confidence import Band, at_least, parse_band, sentence_scores
from propscan.core.sentences import split_sentences
from propscan.core.spans import Span
from propscan.errors import PropscanError
from propscan.models.base import Detector, TokenScores, predict_as_read
from propscan.models.registry import ModelSource, resolve_model
from propscan.models.repetition import STOP_WORDS
from propscan.models.span_edges import WORD_CHARACTER

#: Texts handed to :meth:`Detector.predict` at once by :func:`analyze_many`: enough that
#: the transformer's encoder calls run side by side and rarely wait at a batch's end (a
#: detector reads back one text's encoder outputs at a time, so memory stays small).
BATCH_SIZE = 64
#: Words kept per span as the evidence for its decision.
EVIDENCE_WORDS = 3

_WORD = re.compile(rf"{WORD_CHARACTER}+(?:['\u2019-]{WORD_CHARACTER}+)*")

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
    min_band: str | None = None,
    title: str | None = None,
    url: str | None = None,
    source: str | None = None,
) -> Analysis:
    """Find propaganda spans in one article and score its sentences.

    ``model`` is a loaded detector, an installed model's name, a model directory or
    ``None`` for the shipped model;
    ``threshold`` overrides the model's tuned decision threshold; ``techniques`` keeps only
    spans of those labels, ``min_band`` only spans of that confidence band or a stronger one.
    """
    [analysis] = _analyze_batch(
        [text], model, threshold, techniques, min_band, [(title, url, source)]
    )
    return analysis


def analyze_many(
    texts: Iterable[str],
    model: ModelArg = None,
    *,
    threshold: float | None = None,
    techniques: Iterable[str] | str | None = None,
    min_band: str | None = None,
) -> list[Analysis]:
    """:func:`analyze` for many articles, sent to the model in batches for throughput."""
    if isinstance(texts, str):
        raise PropscanError("analyze_many takes a list of texts; analyse one text with analyze")
    texts = list(texts)
    metadata = [(None, None, None)] * len(texts)
    return _analyze_batch(texts, model, threshold, techniques, min_band, metadata)


def _analyze_batch(
    texts: Sequence[str],
    model: ModelArg,
    threshold: float | None,
    techniques: Iterable[str] | str | None,
    min_band: str | None,
    metadata: Sequence[tuple[str | None, str | None, str | None]],
) -> list[Analysis]:
    for number, text in enumerate(texts, start=1):
        check_text(text, f"article {number} of {len(texts)}" if len(texts) > 1 else "the article")
    detector = resolve_model(model)
    threshold, keep = check_options(detector, threshold, techniques)
    lowest = None if min_band is None else parse_band(min_band)
    recipe = _Recipe(
        ModelInfo(str(detector.name), str(detector.version), detector.techniques),
        detector.decision_threshold if threshold is None else threshold,
        None if keep is None else tuple(label for label in detector.techniques if label in keep),
        lowest,
        article_reference(detector),
    )
    analyses: list[Analysis] = []
    for first in range(0, len(texts), BATCH_SIZE):
        batch = texts[first : first + BATCH_SIZE]
        predictions = predict_as_read(detector, batch, threshold)
        for offset, (text, prediction) in enumerate(zip(batch, predictions, strict=True)):
            spans = tuple(
                span for span in prediction.spans if keep is None or span.technique in keep
            )
            if lowest is not None:
                spans = at_least(spans, lowest)
            title, url, source = metadata[first + offset]
            scores = prediction.token_scores
            analyses.append(recipe.analysis(text, spans, scores, title, url, source))
    return analyses


class _Recipe:
    """What the analyses of one call share: model, threshold, filters and reference."""

    def __init__(
        self,
        model: ModelInfo,
        threshold: float,
        kept: tuple[str, ...] | None,
        lowest: Band | None,
        reference: ArticleReference | None,
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.kept = kept
        self.lowest = lowest
        self.reference = reference
        self.every_mark = (kept is None or len(kept) == len(model.techniques)) and (
            lowest is None or lowest.lowest <= 0.0
        )

    def analysis(
        self,
        text: str,
        spans: tuple[Span, ...],
        token_scores: TokenScores,
        title: str | None,
        url: str | None,
        source: str | None,
    ) -> Analysis:
        bounds = split_sentences(text)
        scores = sentence_scores(bounds, spans)
        sentences = tuple(
            SentenceScore(start, end, score)
            for (start, end), score in zip(bounds, scores, strict=True)
        )
        return Analysis(
            text=text,
            spans=spans,
            sentences=sentences,
            model=self.model,
            threshold=self.threshold,
            title=title,
            url=url,
            source=source,
            article_score=score_article(
                bounds,
                spans,
                self.reference,
                threshold=self.threshold,
                every_mark=self.every_mark,
            ),
            evidence=span_evidence(text, spans, token_scores),
            min_band=None if self.lowest is None else self.lowest.name,
            kept_techniques=self.kept,
        )


def article_reference(detector: Detector) -> ArticleReference | None:
    """The reference articles stored beside ``detector``'s ``model.json``, if any."""
    directory = detector.directory
    if directory is None:
        return None
    file = Path(directory).resolve() / REFERENCE_FILE
    return _reference_in(file.parent, file.stat().st_mtime_ns if file.is_file() else None)


@functools.lru_cache(maxsize=8)
def _reference_in(directory: Path, stamp: int | None) -> ArticleReference | None:
    """The reference in ``directory`` (read again when the file's time ``stamp`` changes)."""
    return None if stamp is None else read_reference(directory)


def span_evidence(
    text: str, spans: Iterable[Span], token_scores: TokenScores
) -> dict[tuple[int, int], tuple[Evidence, ...]]:
    """The :data:`EVIDENCE_WORDS` words of each span with the highest token probability.

    A word's probability is the highest of the tokens it overlaps; stop words count only
    where a span holds nothing else, and a word repeated in a span counts once. Cost:
    a binary search per word of each distinct span.
    """
    starts, ends = token_scores.offsets.T if len(token_scores) else (np.zeros(0), np.zeros(0))
    found: dict[tuple[int, int], tuple[Evidence, ...]] = {}
    for start, end in sorted({(span.start, span.end) for span in spans}):
        words: dict[str, tuple[float, int, int]] = {}
        for match in _WORD.finditer(text, start, end):
            first = int(np.searchsorted(ends, match.start(), side="right"))
            last = int(np.searchsorted(starts, match.end(), side="left"))
            if first >= last:
                continue
            score = float(token_scores.scores[first:last].max())
            key = match.group().casefold()
            if key not in words or score > words[key][0]:
                words[key] = (score, match.start(), match.end())
        content = {key: word for key, word in words.items() if key not in STOP_WORDS} or words
        best = sorted(content.values(), key=lambda word: (-word[0], word[1]))[:EVIDENCE_WORDS]
        if best:
            found[(start, end)] = tuple(
                Evidence(first, last, round(score, 4)) for score, first, last in best
            )
    return found
