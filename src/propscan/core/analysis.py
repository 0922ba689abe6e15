"""What propscan found in one article: :class:`Analysis` and its versioned JSON object.

The CLI, the service, the store and batch runs all exchange this one type; its
``to_dict``/``from_dict`` pair is the JSON contract (``schema_version`` 1) of
``propscan analyze --format json`` and of the REST API. What a reader needs besides the
spans travels with it: the article score, each span's confidence band, the quotation it
lies in (derived from the text by :mod:`propscan.core.quotes`) and the words that carried
its decision (:class:`Evidence`, kept from the model's token probabilities).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from propscan.core.article_score import ArticleScore, marked_sentences
from propscan.core.checks import check_threshold
from propscan.core.confidence import band_of, parse_band
from propscan.core.quotes import Quote, find_quotes, quote_of
from propscan.core.spans import Span
from propscan.core.techniques import PTC_14, TechniqueSet, technique_set
from propscan.errors import PropscanError

#: Version of the JSON object of :meth:`Analysis.to_dict`; bump it on incompatible changes.
SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class SentenceScore:
    """A sentence by its offsets, scored by its most confident span (0 where it holds none,
    see :func:`propscan.core.confidence.sentence_scores`)."""

    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class Evidence:
    """A word ``text[start:end]`` inside a span and the model's propaganda probability for
    it: the words with the highest ones carried the span's decision."""

    start: int
    end: int
    score: float


#: Evidence per span, keyed by the span's ``(start, end)`` (it does not depend on the
#: technique: token probabilities say "propaganda", not which kind).
EvidenceMap = Mapping[tuple[int, int], tuple[Evidence, ...]]

#: Stands for "work the article score out from the spans" (unranked) in :class:`Analysis`.
UNRANKED = ArticleScore(0, 0, note="no reference to rank it against")


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
    article_score: ArticleScore = UNRANKED
    evidence: EvidenceMap = field(default_factory=dict, hash=False)
    #: The filters the spans went through: the lowest band kept and the techniques kept
    #: (``None``: all of them).
    min_band: str | None = None
    kept_techniques: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "spans", tuple(sorted(self.spans)))
        object.__setattr__(self, "sentences", tuple(sorted(self.sentences, key=_offsets)))
        if self.article_score is UNRANKED:
            bounds = [(sentence.start, sentence.end) for sentence in self.sentences]
            marked = marked_sentences(bounds, self.spans)
            object.__setattr__(
                self, "article_score", ArticleScore(marked, len(bounds), note=UNRANKED.note)
            )

    @functools.cached_property
    def quotes(self) -> tuple[Quote, ...]:
        """The direct quotations of the text (found once, when first asked for)."""
        return find_quotes(self.text)

    def quote_of(self, span: Span) -> Quote | None:
        """The quotation ``span`` lies in, ``None`` when it is in the outlet's own voice."""
        return quote_of(self.quotes, span.start, span.end)

    def evidence_of(self, span: Span) -> tuple[Evidence, ...]:
        """The words that carried ``span``'s decision, most probable first (may be empty)."""
        return self.evidence.get((span.start, span.end), ())

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
            "spans": [self.span_dict(span) for span in self.spans],
            "sentences": [
                {"start": s.start, "end": s.end, "score": float(s.score)} for s in self.sentences
            ],
            "model": {
                "name": self.model.name,
                "version": self.model.version,
                "techniques": list(self.model.techniques),
            },
            "threshold": None if self.threshold is None else float(self.threshold),
            "min_band": self.min_band,
            "kept_techniques": None if self.kept_techniques is None else list(self.kept_techniques),
            "article_score": self.article_score.to_dict(),
        }

    def span_dict(self, span: Span) -> dict[str, Any]:
        """One span of :meth:`to_dict`: offsets, technique, score and band, fragment, the
        quotation it lies in and its evidence words."""
        quote = self.quote_of(span)
        return {
            "start": span.start,
            "end": span.end,
            "technique": span.technique,
            "score": None if span.score is None else float(span.score),
            "band": band_of(span.score).name,
            "fragment": span.fragment(self.text),
            "quote": None
            if quote is None
            else {"start": quote.start, "end": quote.end, "speaker": quote.speaker},
            "evidence": [
                {
                    "word": self.text[e.start : e.end],
                    "start": e.start,
                    "end": e.end,
                    "score": e.score,
                }
                for e in self.evidence_of(span)
            ],
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
    evidence: dict[tuple[int, int], tuple[Evidence, ...]] = {}
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
        words = _evidence_in(item, start, end, where)
        if words:
            evidence[(start, end)] = words
    sentences = []
    for number, item in enumerate(_field(data, "sentences", list, "analysis")):
        where = f"sentences[{number}]"
        start, end = _offsets_in(item, text, where)
        score = _optional_score(item, where)
        sentences.append(SentenceScore(start, end, 0.0 if score is None else score))
    score = data.get("article_score")
    return Analysis(
        text=text,
        spans=tuple(spans),
        sentences=tuple(sentences),
        model=model,
        threshold=check_threshold(data.get("threshold")),
        title=_optional_str(data, "title"),
        url=_optional_str(data, "url"),
        source=_optional_str(data, "source"),
        article_score=UNRANKED if score is None else ArticleScore.from_dict(score),
        evidence=evidence,
        min_band=_min_band(data.get("min_band")),
        kept_techniques=_kept_techniques(data.get("kept_techniques"), model.techniques),
    )


def _evidence_in(item: Mapping[str, Any], start: int, end: int, where: str) -> tuple[Evidence, ...]:
    """The ``evidence`` words of a span object: each inside the span, with a score."""
    words = item.get("evidence") or []
    if not isinstance(words, list):
        raise PropscanError(f"{where}: 'evidence' must be a list of words")
    found = []
    for position, word in enumerate(words):
        place = f"{where}.evidence[{position}]"
        first, last = _field(word, "start", int, place), _field(word, "end", int, place)
        if not start <= first < last <= end:
            raise PropscanError(f"{place}: offsets {first}:{last} lie outside the span")
        found.append(Evidence(first, last, _optional_score(word, place) or 0.0))
    return tuple(found)


def _min_band(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PropscanError("analysis: field 'min_band' must be a band name or null")
    return parse_band(value).name


def _kept_techniques(value: Any, techniques: TechniqueSet) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(label, str) for label in value):
        raise PropscanError("analysis: field 'kept_techniques' must be a list of labels or null")
    return tuple(techniques.check(label) for label in value)


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
