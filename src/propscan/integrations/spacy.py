"""The ``propscan`` spaCy component: propaganda spans in ``doc.spans``, in any pipeline.

``pip install 'propscan[spacy]'`` registers the factory through the ``spacy_factories``
entry point, so ``nlp.add_pipe("propscan")`` works once propscan is installed::

    nlp = spacy.blank("en")
    nlp.add_pipe("propscan", config={"model": None, "threshold": None, "spans_key": "propaganda"})
    doc = nlp(text)
    for span, score in zip(doc.spans["propaganda"], doc.spans["propaganda"].attrs["scores"]):
        print(span.label_, float(score), span.text)

Each detected fragment becomes one :class:`spacy.tokens.Span` labelled with its
technique, grown to whole tokens (``alignment_mode="expand"``); the group's attrs keep
the scores (``"scores"``, as spaCy's ``spancat`` does) and propscan's own character
offsets (``"char_offsets"``, one ``[start, end)`` row per span), so nothing is lost when
the tokenizer cuts words differently. The model is not part of the pipeline's files:
its name or path (``null`` for the shipped model) is stored in the pipeline's config,
unless ``store_model`` asks for a copy.
"""

# No ``from __future__ import annotations`` here: spaCy reads the factory's type hints
# at run time to validate its config.

import json
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc, SpanGroup
from spacy.util import minibatch

from propscan.core.analysis import Analysis
from propscan.core.checks import check_threshold, has_content
from propscan.errors import PropscanError
from propscan.models.base import Detector, read_model_config
from propscan.models.registry import describe_model, model_directory
from propscan.pipeline import analyze_many, load_model

#: The factory name: ``nlp.add_pipe(FACTORY_NAME)``.
FACTORY_NAME = "propscan"
#: Where the spans go by default: ``doc.spans[DEFAULT_SPANS_KEY]``.
DEFAULT_SPANS_KEY = "propaganda"
#: Docs analysed together by :meth:`PropscanComponent.pipe` unless ``batch_size`` says otherwise.
DEFAULT_BATCH_SIZE = 32
#: Version of the component's files written by ``nlp.to_disk``.
COMPONENT_FORMAT_VERSION = 1
_SETTINGS_FILE = "propscan.json"
_STORED_MODEL_DIR = "model"

DEFAULT_CONFIG: dict[str, Any] = {
    "model": None,
    "threshold": None,
    "spans_key": DEFAULT_SPANS_KEY,
    "techniques": None,
    "store_model": False,
}


class PropscanComponent(Pipe):
    """Finds propaganda spans with a propscan model and writes them to ``doc.spans``.

    The model is loaded on first use, once per component, and shared by every batch.
    Settings are checked when the component is made, so a wrong model path or
    threshold fails at ``add_pipe`` or ``spacy.load``, not in the middle of a corpus.
    """

    def __init__(
        self,
        nlp: Language,
        name: str = FACTORY_NAME,
        *,
        model: str | os.PathLike[str] | None = None,
        threshold: float | None = None,
        spans_key: str = DEFAULT_SPANS_KEY,
        techniques: Sequence[str] | None = None,
        store_model: bool = False,
    ) -> None:
        if not isinstance(spans_key, str) or not spans_key:
            raise PropscanError(f"spans_key must be a non-empty string, got {spans_key!r}")
        self.name = name
        self.spans_key = spans_key
        self.threshold = check_threshold(threshold)
        self.store_model = bool(store_model)
        self._detector: Detector | None = None
        self._asked_techniques = techniques
        # A saved pipeline with a stored copy reads it in from_disk, after this: the path
        # in its config may be gone by then, so only then is a missing model an error.
        self._missing_model: PropscanError | None = None
        try:
            self._use_model(model)
        except PropscanError as error:
            if not self.store_model:
                raise
            self.model, self._missing_model = model, error

    def _use_model(self, model: str | os.PathLike[str] | None) -> None:
        """Read ``model``'s techniques now, so that a wrong model or technique is an error
        when the component is made, not at the first doc."""
        self.model_techniques = describe_model(model).techniques
        asked = self._asked_techniques
        self.techniques = None if asked is None else self.model_techniques.parse(asked)
        self.model, self._missing_model = model, None

    def _check_model(self) -> None:
        if self._missing_model is not None:
            raise self._missing_model

    @property
    def detector(self) -> Detector:
        """The propscan model, loaded on first use (the shipped one when ``model`` is null)."""
        if self._detector is None:
            self._check_model()
            self._detector = load_model(self.model)
        return self._detector

    @detector.setter
    def detector(self, detector: Detector) -> None:
        """Use an already loaded model, e.g. one shared with other code."""
        self._detector = detector

    def __call__(self, doc: Doc) -> Doc:
        [analysis] = self._analyze([doc])
        self.set_annotations(doc, analysis)
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Doc]:
        """Analyse docs ``batch_size`` at a time: one model call per batch, windows shared."""
        error_handler = self.get_error_handler()
        for batch in minibatch(stream, size=batch_size):
            docs = list(batch)
            try:
                analyses = self._analyze(docs)
                for doc, analysis in zip(docs, analyses, strict=True):
                    self.set_annotations(doc, analysis)
            except Exception as error:
                error_handler(self.name, self, docs, error)
                continue
            yield from docs

    def _analyze(self, docs: Sequence[Doc]) -> list[Analysis | None]:
        """One analysis per doc; ``None`` for a doc with no text to analyse."""
        indexes = [index for index, doc in enumerate(docs) if has_content(doc.text)]
        results: list[Analysis | None] = [None] * len(docs)
        if indexes:
            analyses = analyze_many(
                [docs[index].text for index in indexes],
                self.detector,
                threshold=self.threshold,
                techniques=self.techniques,
            )
            for index, analysis in zip(indexes, analyses, strict=True):
                results[index] = analysis
        return results

    def set_annotations(self, doc: Doc, analysis: Analysis | None) -> None:
        """Write the analysis's spans to ``doc.spans[spans_key]`` with scores and offsets."""
        spans = []
        scores: list[float] = []
        offsets: list[tuple[int, int]] = []
        for found in analysis.spans if analysis is not None else ():
            token_span = doc.char_span(
                found.start, found.end, label=found.technique or "", alignment_mode="expand"
            )
            if token_span is None:  # only for a span of whitespace, which propscan never makes
                continue
            spans.append(token_span)
            scores.append(float(found.score) if found.score is not None else float("nan"))
            offsets.append((found.start, found.end))
        attrs = {
            "scores": numpy.asarray(scores, dtype=numpy.float32),
            "char_offsets": numpy.asarray(offsets, dtype=numpy.int64).reshape(-1, 2),
        }
        doc.spans[self.spans_key] = SpanGroup(doc, name=self.spans_key, spans=spans, attrs=attrs)

    @property
    def labels(self) -> tuple[str, ...]:
        if self._missing_model is not None:  # spaCy asks while loading, before from_disk
            return ()
        return tuple(self.techniques if self.techniques is not None else self.model_techniques)

    def to_disk(self, path: str | os.PathLike[str], *, exclude: Iterable[str] = ()) -> None:
        """Write the component's settings; the model itself only when ``store_model`` is set."""
        self._check_model()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        source = model_directory(self.model)
        config = read_model_config(source)
        settings = {
            "format_version": COMPONENT_FORMAT_VERSION,
            "model": {"name": config.get("name"), "version": config.get("version")},
            "stored_model": self.store_model,
        }
        (folder / _SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", "utf-8")
        stored = folder / _STORED_MODEL_DIR
        if stored.exists() and stored.resolve() != source.resolve():
            shutil.rmtree(stored)
        if self.store_model and not stored.exists():
            shutil.copytree(source, stored, ignore=shutil.ignore_patterns("checkpoint"))

    def from_disk(
        self, path: str | os.PathLike[str], *, exclude: Iterable[str] = ()
    ) -> "PropscanComponent":
        """Read what :meth:`to_disk` wrote: a stored model copy replaces the configured path."""
        folder = Path(path)
        settings_file = folder / _SETTINGS_FILE
        if not settings_file.is_file():
            raise PropscanError(f"{folder}: no {_SETTINGS_FILE}; not a saved propscan component")
        settings = json.loads(settings_file.read_text("utf-8"))
        if settings.get("format_version") != COMPONENT_FORMAT_VERSION:
            raise PropscanError(
                f"{settings_file}: component format version {settings.get('format_version')!r} "
                f"is not supported (this propscan reads version {COMPONENT_FORMAT_VERSION})"
            )
        stored = folder / _STORED_MODEL_DIR
        if settings.get("stored_model") and (stored / "model.json").is_file():
            self._use_model(str(stored.resolve()))  # absolute: the process may change folder
            self._detector = None
        return self


@Language.factory(
    FACTORY_NAME,
    default_config=DEFAULT_CONFIG,
    assigns=["doc.spans"],
)
def make_propscan(
    nlp: Language,
    name: str,
    model: str | None,
    threshold: float | None,
    spans_key: str,
    techniques: list[str] | None,
    store_model: bool,
) -> PropscanComponent:
    """The ``propscan`` factory: ``model`` is an installed model's name, a model directory, or
    null for the shipped one."""
    return PropscanComponent(
        nlp,
        name,
        model=model,
        threshold=threshold,
        spans_key=spans_key,
        techniques=techniques,
        store_model=store_model,
    )
