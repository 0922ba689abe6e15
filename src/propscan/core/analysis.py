"""What propscan found in one article: :class:`Analysis` and its versioned JSON object.

The CLI, the service, the store and batch runs all exchange this one type; its
``to_dict``/``from_dict`` pair is the JSON contract (``schema_version`` 1) of
``propscan analyze --format json`` and of the REST API.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from propscan.core.checks import check_threshold
from propscan.core.spans import Span
from propscan.core.techniques import check_technique
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
