"""Analysing one chunk of records: the pure function every engine runs.

A chunk's result (its rows of the ``spans``, ``articles`` and errors tables) depends
only on the chunk, the model and the options, so one process, a process pool and a
Dask cluster write identical tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from propscan.batch.inputs import InputRecord
from propscan.core.analysis import Analysis
from propscan.core.checks import check_threshold
from propscan.core.confidence import parse_band
from propscan.core.spans import Article
from propscan.core.techniques import TechniqueSet
from propscan.errors import PropscanError
from propscan.models.base import Detector
from propscan.pipeline import analyze_many

_WORD = re.compile(r"\w+(?:['’-]\w+)*")


@dataclass(frozen=True)
class AnalysisOptions:
    """What every document of a run is analysed with.

    The threshold and the band are checked when the options are made; the techniques,
    which must be labels of the model's set, by :meth:`for_model` before the run starts.
    """

    threshold: float | None = None
    techniques: tuple[str, ...] | None = None
    min_band: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", check_threshold(self.threshold))
        if self.min_band is not None:
            object.__setattr__(self, "min_band", parse_band(self.min_band).name)

    def for_model(self, techniques: TechniqueSet) -> AnalysisOptions:
        """These options with the techniques checked against the model's set."""
        if self.techniques is None:
            return self
        return replace(self, techniques=techniques.parse(self.techniques))


@dataclass(frozen=True)
class Chunk:
    """Consecutive input records analysed together: ``index`` names its result parts.

    ``pending`` are the records still to analyse or report (in input order);
    ``skipped`` counts the records a previous run already finished.
    """

    index: int
    pending: tuple[InputRecord, ...] = ()
    skipped: int = 0

    @property
    def records(self) -> int:
        return len(self.pending) + self.skipped


@dataclass(frozen=True)
class ChunkResult:
    """Rows of the result tables for one chunk; ``errors`` are in input order."""

    index: int
    spans: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def article_rows(
    article: Article, analysis: Analysis
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``articles`` row and the ``spans`` rows of one analysed article."""
    text = analysis.text
    spans = []
    for span in analysis.spans:
        found = analysis.span_dict(span)
        quote = found["quote"]
        spans.append(
            {
                "id": article.id,
                **{key: found[key] for key in ("start", "end", "technique", "score", "fragment")},
                "source": article.source,
                "date": article.date,
                "band": found["band"],
                "in_quote": quote is not None,
                "speaker": None if quote is None else quote["speaker"],
                "evidence": found["evidence"],
            }
        )
    flagged = analysis.article_score.marked_sentences
    words = count_words(text)
    sentences = len(analysis.sentences)
    row = {
        "id": article.id,
        "title": article.title,
        "source": article.source,
        "date": article.date,
        "url": article.url,
        "characters": len(text),
        "words": words,
        "sentences": sentences,
        "propaganda_sentences": flagged,
        "propaganda_sentence_share": flagged / sentences if sentences else 0.0,
        "spans": len(spans),
        "spans_per_1000_words": 1000.0 * len(spans) / words if words else 0.0,
        "article_score": analysis.article_score.percentile,
        "article_score_note": analysis.article_score.note,
        "quoted_spans": sum(row["in_quote"] for row in spans),
        "threshold": analysis.threshold,
    }
    return row, spans


def error_row(record_id: str | None, location: str, reason: str) -> dict[str, Any]:
    return {"id": record_id, "location": location, "reason": reason}


def _analyze_each(
    texts: Sequence[str], model: Detector, options: AnalysisOptions
) -> list[Analysis | PropscanError]:
    """Analyse texts one by one so that a text the model rejects fails alone."""
    results: list[Analysis | PropscanError] = []
    for text in texts:
        try:
            results.extend(
                analyze_many(
                    [text],
                    model,
                    threshold=options.threshold,
                    techniques=options.techniques,
                    min_band=options.min_band,
                )
            )
        except PropscanError as error:
            results.append(error)
    return results


def analyze_chunk(chunk: Chunk, model: Detector, options: AnalysisOptions) -> ChunkResult:
    """Analyse a chunk's articles in one batch and turn everything into table rows."""
    to_analyze = [record for record in chunk.pending if record.article is not None]
    texts = [record.article.text for record in to_analyze if record.article is not None]
    outcomes: list[Analysis | PropscanError] = []
    try:
        if texts:
            outcomes = list(
                analyze_many(
                    texts,
                    model,
                    threshold=options.threshold,
                    techniques=options.techniques,
                    min_band=options.min_band,
                )
            )
    except PropscanError:
        outcomes = _analyze_each(texts, model, options)
    analysed = dict(zip((record.position for record in to_analyze), outcomes, strict=True))
    result = ChunkResult(chunk.index, records=chunk.records)
    for record in chunk.pending:
        outcome = analysed.get(record.position)
        if record.article is None or outcome is None:
            reason = record.problem or "invalid record"
            result.errors.append(error_row(record.id, record.location, reason))
        elif isinstance(outcome, PropscanError):
            reason = f"analysis failed: {outcome}"
            result.errors.append(error_row(record.id, record.location, reason))
        else:
            row, spans = article_rows(record.article, outcome)
            result.articles.append(row)
            result.spans.extend(spans)
    return result
