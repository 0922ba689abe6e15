"""From article text to an :class:`Analysis`: the path the CLI, the service and batch runs share.

A model predicts spans and per-token propaganda probabilities; the pipeline filters the
spans by technique, scores every sentence, and records which model produced the result.
"""

from __future__ import annotations

import functools
import math
import os
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from propscan.data import Span
from propscan.detector import DEFAULT_MODEL_DIR, Detector, TokenScore, load_detector
from propscan.errors import PropscanError
from propscan.sentences import split_sentences
from propscan.techniques import TECHNIQUES, check_technique

#: Version of the JSON object of :meth:`Analysis.to_dict`; bump it on incompatible changes.
SCHEMA_VERSION = 1

#: Texts handed to :meth:`Detector.predict` at once by :func:`analyze_many`.
BATCH_SIZE = 16

ModelArg = Detector | str | os.PathLike[str] | None


@dataclass(frozen=True, slots=True)
class SentenceScore:
    """A sentence by its offsets, scored by the most propagandistic token inside it."""

    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Which model produced an analysis, so stored results stay traceable."""

    name: str
    version: str


@dataclass(frozen=True)
class Analysis:
    """Everything propscan found in one article; offsets index ``text``."""

    text: str
    spans: tuple[Span, ...]
    sentences: tuple[SentenceScore, ...]
    model: ModelInfo
    threshold: float | None = None
    title: str | None = None
    url: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "spans", tuple(sorted(self.spans)))
        object.__setattr__(self, "sentences", tuple(sorted(self.sentences, key=_offsets)))

    def technique_counts(self) -> dict[str, int]:
        """Spans per technique, most frequent first (techniques without spans are absent)."""
        counts = Counter(span.technique for span in self.spans if span.technique is not None)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON object of this analysis (plain Python types only)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "text": self.text,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "spans": [
                {
                    "start": span.start,
                    "end": span.end,
                    "technique": span.technique,
                    "score": None if span.score is None else float(span.score),
                    "fragment": span.fragment(self.text),
                }
                for span in self.spans
            ],
            "sentences": [
                {"start": s.start, "end": s.end, "score": float(s.score)} for s in self.sentences
            ],
            "model": {"name": self.model.name, "version": self.model.version},
            "threshold": None if self.threshold is None else float(self.threshold),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Analysis:
        """Rebuild an analysis from :meth:`to_dict` output, checking offsets against the text."""
        return _analysis_from_dict(data)


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


def check_text(text: str, what: str = "the article") -> str:
    """``text`` if it has something to analyse, else a helpful error."""
    if not isinstance(text, str):
        raise PropscanError(f"{what} must be text, got {type(text).__name__}")
    if not text.strip():
        raise PropscanError(f"{what} is empty; give the text of a news article to analyse")
    return text


def check_threshold(threshold: float | None) -> float | None:
    """``threshold`` as a float if it lies in [0, 1] (``None`` keeps the model's own)."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise PropscanError(f"threshold must be a number between 0 and 1, got {threshold!r}")
    if math.isnan(threshold) or not 0.0 <= threshold <= 1.0:
        raise PropscanError(f"threshold must be between 0 and 1, got {threshold}")
    return float(threshold)


_LABELS_BY_KEY = {label.casefold(): label for label in TECHNIQUES}
_MOST_PARTS = max(label.count(",") + 1 for label in TECHNIQUES)


def parse_techniques(value: Iterable[str] | str) -> tuple[str, ...]:
    """Technique labels from a list or a comma-separated string, checked and de-duplicated.

    Several PTC labels contain commas themselves (``Name_Calling,Labeling``), so a string
    is cut at the commas that separate whole labels. Matching ignores case.
    """
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
    else:
        parts = [str(label).strip() for label in value]
    labels: list[str] = []
    position = 0
    while position < len(parts):
        if not parts[position]:
            position += 1
            continue
        for width in range(min(_MOST_PARTS, len(parts) - position), 0, -1):
            candidate = ",".join(parts[position : position + width]).casefold()
            if candidate in _LABELS_BY_KEY:
                labels.append(_LABELS_BY_KEY[candidate])
                position += width
                break
        else:
            check_technique(parts[position])  # no label starts here: raises a helpful error
            position += 1
    if not labels:
        raise PropscanError(
            "no technique given to keep; name at least one of the 14 PTC labels "
            "(run 'propscan techniques' to list them) or leave the filter out"
        )
    return tuple(dict.fromkeys(labels))


def score_sentences(text: str, token_scores: Iterable[TokenScore]) -> tuple[SentenceScore, ...]:
    """Each sentence of ``text`` with the highest probability of a token inside it (else 0.0)."""
    bounds = split_sentences(text)
    starts = [start for start, _ in bounds]
    best = [0.0] * len(bounds)
    for token in token_scores:
        index = max(bisect_right(starts, token.start) - 1, 0)
        while index < len(bounds) and bounds[index][0] < token.end:
            if token.start < bounds[index][1]:
                best[index] = max(best[index], float(token.score))
            index += 1
    return tuple(
        SentenceScore(start, end, score) for (start, end), score in zip(bounds, best, strict=True)
    )


def _offsets(sentence: SentenceScore) -> tuple[int, int]:
    return sentence.start, sentence.end


def _analysis_from_dict(data: Mapping[str, Any]) -> Analysis:
    if not isinstance(data, Mapping):
        raise PropscanError(f"an analysis must be a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise PropscanError(
            f"analysis schema version {version!r} is not supported "
            f"(this propscan reads version {SCHEMA_VERSION})"
        )
    text = _field(data, "text", str, "analysis")
    spans = []
    for number, item in enumerate(_field(data, "spans", list, "analysis")):
        where = f"spans[{number}]"
        start, end = _offsets_in(item, text, where)
        technique = _field(item, "technique", str, where)
        try:
            check_technique(technique)
        except PropscanError as error:
            raise PropscanError(f"{where}: {error}") from None
        score = _optional_score(item, where)
        fragment = item.get("fragment")
        if fragment is not None and fragment != text[start:end]:
            raise PropscanError(
                f"{where}: fragment {fragment!r} is not text[{start}:{end}] "
                f"({text[start:end]!r}); offsets must index the text in Unicode characters"
            )
        spans.append(Span(start, end, technique, score))
    sentences = []
    for number, item in enumerate(_field(data, "sentences", list, "analysis")):
        where = f"sentences[{number}]"
        start, end = _offsets_in(item, text, where)
        score = _optional_score(item, where)
        sentences.append(SentenceScore(start, end, 0.0 if score is None else score))
    model = _field(data, "model", Mapping, "analysis")
    return Analysis(
        text=text,
        spans=tuple(spans),
        sentences=tuple(sentences),
        model=ModelInfo(
            _field(model, "name", str, "model"), _field(model, "version", str, "model")
        ),
        threshold=check_threshold(data.get("threshold")),
        title=_optional_str(data, "title"),
        url=_optional_str(data, "url"),
        source=_optional_str(data, "source"),
    )


def _field(item: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(item, Mapping):
        raise PropscanError(f"{where}: expected a JSON object, got {type(item).__name__}")
    value = item.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PropscanError(f"{where}: field {key!r} is missing or has the wrong type")
    return value


def _offsets_in(item: Any, text: str, where: str) -> tuple[int, int]:
    start = _field(item, "start", int, where)
    end = _field(item, "end", int, where)
    if not 0 <= start < end <= len(text):
        raise PropscanError(
            f"{where}: offsets {start}:{end} do not fit the text ({len(text)} characters)"
        )
    return start, end


def _optional_score(item: Mapping[str, Any], where: str) -> float | None:
    score = item.get("score")
    if score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise PropscanError(f"{where}: score must be a number between 0 and 1, got {score!r}")
    return float(score)


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise PropscanError(f"analysis: field {key!r} must be a string or null")
    return value
