"""What propscan found in one article: :class:`Analysis` and its versioned JSON object.

The CLI, the service, the store and batch runs all exchange this one type; its
``to_dict``/``from_dict`` pair is the JSON contract (``schema_version`` 1) of
``propscan analyze --format json`` and of the REST API.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from propscan.core.checks import check_threshold
from propscan.core.spans import Span
from propscan.core.techniques import PTC_14, TechniqueSet, technique_set
from propscan.errors import PropscanError

#: Version of the JSON object of :meth:`Analysis.to_dict`; bump it on incompatible changes.
SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class SentenceScore:
    """A sentence by its offsets, scored by the most propagandistic token inside it."""

    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Which model produced an analysis, and the techniques it names, so stored results stay
    traceable and every view shows that model's technique set."""

    name: str
    version: str
    techniques: TechniqueSet = field(default=PTC_14)


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
            "model": {
                "name": self.model.name,
                "version": self.model.version,
                "techniques": list(self.model.techniques),
            },
            "threshold": None if self.threshold is None else float(self.threshold),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Analysis:
        """Rebuild an analysis from :meth:`to_dict` output, checking offsets against the text."""
        return _analysis_from_dict(data)


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
    model = _model_info(_field(data, "model", Mapping, "analysis"))
    spans = []
    for number, item in enumerate(_field(data, "spans", list, "analysis")):
        where = f"spans[{number}]"
        start, end = _offsets_in(item, text, where)
        technique = _field(item, "technique", str, where)
        try:
            model.techniques.check(technique)
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
    return Analysis(
        text=text,
        spans=tuple(spans),
        sentences=tuple(sentences),
        model=model,
        threshold=check_threshold(data.get("threshold")),
        title=_optional_str(data, "title"),
        url=_optional_str(data, "url"),
        source=_optional_str(data, "source"),
    )


def _model_info(model: Mapping[str, Any]) -> ModelInfo:
    """The model object; analyses stored before it listed techniques used PTC's 14."""
    labels = model.get("techniques")
    if labels is not None and (
        not isinstance(labels, list) or not all(isinstance(label, str) for label in labels)
    ):
        raise PropscanError("model: field 'techniques' must be a list of technique labels")
    return ModelInfo(
        _field(model, "name", str, "model"),
        _field(model, "version", str, "model"),
        technique_set(labels),
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
