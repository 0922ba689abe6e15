"""The classical baseline detector: a word classifier for spans, a span classifier for techniques.

The span model gives each word a propaganda probability (a linear model over hashed
features), :mod:`propscan.models.decoding` turns runs of probable words into spans, and
the technique model (multinomial logistic regression over TF-IDF n-grams and document
features) labels them. A model is stored as ``model.json`` + ``.npz`` arrays + a JSON
vocabulary, without pickle, so loading a model runs no code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from propscan.core.spans import Span
from propscan.core.techniques import PTC_14, TechniqueSet, technique_set
from propscan.errors import PropscanError
from propscan.models.base import Prediction, TokenScores, read_model_config, write_model_config
from propscan.models.baseline.technique_features import (
    DOCUMENT_FEATURES,
    ArticleContext,
    TfidfSpace,
    technique_features,
)
from propscan.models.baseline.word_features import (
    KeyCache,
    Words,
    hashed_scores,
    token_feature_columns,
    tokenize,
)
from propscan.models.decoding import (
    Candidate,
    decode_word_spans,
    label_top_two,
    resolve_threshold,
)
from propscan.models.decoding_settings import current_setting_names
from propscan.version import __version__

KIND = "baseline"
MODEL_NAME = "propscan-baseline"
HASH_BITS = 20
DEFAULT_SI_THRESHOLD = 0.5
DEFAULT_SECOND_TECHNIQUE_THRESHOLD = 0.5


@dataclass(frozen=True, eq=False)
class SpanModel:
    """Logistic word classifier: probability that a word is part of a propaganda span."""

    coef: np.ndarray
    intercept: float
    hash_bits: int = HASH_BITS
    keys: KeyCache = field(default_factory=KeyCache, repr=False)

    def __post_init__(self) -> None:
        if self.coef.shape != (1 << self.hash_bits,):
            raise ValueError(f"span weights of shape {self.coef.shape} for {self.hash_bits} bits")

    def token_probabilities(self, text: str) -> tuple[Words, np.ndarray]:
        """The words and punctuation of ``text`` with the probability of each."""
        return self.token_probabilities_of([text])[0]

    def token_probabilities_of(self, texts: Sequence[str]) -> list[tuple[Words, np.ndarray]]:
        """:meth:`token_probabilities` of many texts, featurised in one pass."""
        words = [tokenize(text) for text in texts]
        columns = token_feature_columns(texts, words, self.hash_bits, self.keys)
        bounds = np.cumsum([0, *map(len, words)]).tolist()
        found = []
        for text_words, first, last in zip(words, bounds[:-1], bounds[1:], strict=True):
            if not len(text_words):
                found.append((text_words, np.zeros(0)))
                continue
            logits = hashed_scores(columns[first:last], self.coef) + self.intercept
            found.append((text_words, 1.0 / (1.0 + np.exp(-logits))))
        return found


@dataclass(frozen=True, eq=False)
class TechniqueModel:
    """Multinomial logistic regression from span features to technique probabilities."""

    spaces: tuple[TfidfSpace, ...]
    classes: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray

    def __post_init__(self) -> None:
        width = sum(len(space.terms) for space in self.spaces) + len(DOCUMENT_FEATURES)
        expected = (len(self.classes), width)
        if self.coef.shape != expected or self.intercept.shape != expected[:1]:
            raise ValueError(f"technique weights of shape {self.coef.shape}, expected {width} wide")
        if any(len(space.idf) != len(space.terms) for space in self.spaces):
            raise ValueError("idf weights and vocabulary differ in length")

    @cached_property
    def _weights(self) -> np.ndarray:
        """``coef.T`` as the sparse product takes it (C order, the features' float64): made
        once here rather than copied from ``coef`` at every call."""
        return np.ascontiguousarray(self.coef.T, dtype=np.float64)

    def probabilities(self, text: str, spans: Sequence[Span], labels: TechniqueSet) -> np.ndarray:
        """Rows of probabilities over ``labels`` (0 for techniques never seen in training)."""
        result = np.zeros((len(spans), len(labels)))
        if not spans:
            return result
        context = ArticleContext.of(text)
        features = technique_features(self.spaces, [context] * len(spans), spans)
        logits = features @ self._weights + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exponentials = np.exp(logits)
        probabilities = exponentials / exponentials.sum(axis=1, keepdims=True)
        columns = [labels.index(label) for label in self.classes]
        result[:, columns] = probabilities
        return result


@dataclass(frozen=True, eq=False)
class BaselineDetector:
    """The classical baseline; implements :class:`propscan.models.base.Detector`."""

    span_model: SpanModel
    technique_model: TechniqueModel
    si_threshold: float = DEFAULT_SI_THRESHOLD
    second_technique_threshold: float = DEFAULT_SECOND_TECHNIQUE_THRESHOLD
    training: Mapping[str, Any] = field(default_factory=dict)
    name: str = MODEL_NAME
    version: str = __version__
    #: The labels the model names: those of its training data (it may have seen fewer).
    techniques: TechniqueSet = PTC_14
    #: Where the model was loaded from (``None``: trained in memory).
    directory: Path | None = None

    @property
    def decision_threshold(self) -> float:
        """The tuned threshold on a span's mean word probability (``si_threshold``)."""
        return self.si_threshold

    def __post_init__(self) -> None:
        unknown = set(self.technique_model.classes) - set(self.techniques)
        if unknown:
            raise ValueError(f"techniques {sorted(unknown)} are not in the model's technique set")

    def predict(self, texts: Sequence[str], threshold: float | None = None) -> list[Prediction]:
        """Spans with their most probable technique (and the second one when it is likely too)."""
        cutoff = resolve_threshold(threshold, self.si_threshold)
        return [self._predict_one(text, cutoff) for text in texts]

    def _predict_one(self, text: str, threshold: float) -> Prediction:
        tokens, probabilities = self.span_model.token_probabilities(text)
        scores = TokenScores(tokens.offsets, probabilities.astype(np.float64))
        found = self.find_spans(text, tokens, probabilities, threshold)
        spans = self.label(text, found, self.second_technique_threshold)
        return Prediction(spans=tuple(sorted(spans)), token_scores=scores)

    @staticmethod
    def find_spans(
        text: str, tokens: Words, probabilities: np.ndarray, threshold: float
    ) -> list[Candidate]:
        """Unlabelled spans of ``text`` from its word probabilities (see the decoder)."""
        return decode_word_spans(text, tokens.offsets, tokens.is_word, probabilities, threshold)

    def label(
        self, text: str, found: Sequence[Candidate], second_technique_threshold: float
    ) -> list[Span]:
        """Spans of ``found`` labelled with their one or two most probable techniques."""
        spans = [candidate.span for candidate in found]
        rows = self.technique_model.probabilities(text, spans, self.techniques)
        return label_top_two(found, rows, self.techniques, second_technique_threshold)

    def classify(self, text: str, spans: Sequence[Span]) -> list[dict[str, float]]:
        """Probability of each of the model's techniques for each span of ``text``."""
        for span in spans:
            span.check_within(text)
        rows = self.technique_model.probabilities(text, spans, self.techniques)
        return [{t: float(p) for t, p in zip(self.techniques, row, strict=True)} for row in rows]

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``model.json``, the weights as ``.npz`` arrays and the vocabularies as JSON."""
        path = Path(directory)
        try:
            self._write(path)
        except OSError as error:
            raise PropscanError(
                f"cannot save the model to {str(path)!r} ({error.strerror}); "
                "choose a writable directory"
            ) from error
        return path

    def _write(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path / "span-model.npz",
            coef=self.span_model.coef,
            intercept=np.asarray([self.span_model.intercept]),
        )
        spaces = self.technique_model.spaces
        # Any: numpy's stub would otherwise check the arrays against ``allow_pickle: bool``
        idf_arrays: dict[str, Any] = {f"idf_{space.kind}": space.idf for space in spaces}
        np.savez_compressed(
            path / "technique-model.npz",
            coef=self.technique_model.coef,
            intercept=self.technique_model.intercept,
            **idf_arrays,
        )
        vocabulary = {space.kind: list(space.terms) for space in spaces}
        (path / "technique-vocabulary.json").write_text(
            json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8"
        )
        write_model_config(
            path,
            {
                "kind": KIND,
                "name": self.name,
                "version": self.version,
                "si_threshold": self.si_threshold,
                "second_technique_threshold": self.second_technique_threshold,
                "hash_bits": self.span_model.hash_bits,
                "techniques": list(self.techniques),
                "classes": list(self.technique_model.classes),
                "feature_spaces": [space.kind for space in spaces],
                "training": dict(self.training),
            },
        )

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> BaselineDetector:
        """Read a model written by :meth:`save` (older files name a setting differently)."""
        path = Path(directory)
        config = current_setting_names(read_model_config(path))
        if config.get("kind") != KIND:
            raise PropscanError(f"{path}/model.json: kind is {config.get('kind')!r}, not {KIND!r}")
        try:
            with np.load(path / "span-model.npz") as arrays:
                span_model = SpanModel(
                    arrays["coef"],
                    float(arrays["intercept"][0]),
                    int(config["hash_bits"]),
                )
            vocabulary = json.loads((path / "technique-vocabulary.json").read_text("utf-8"))
            with np.load(path / "technique-model.npz") as arrays:
                spaces = tuple(
                    TfidfSpace(kind, tuple(vocabulary[kind]), arrays[f"idf_{kind}"])
                    for kind in config["feature_spaces"]
                )
                # models written before "classes" listed the classes as "techniques"
                # and named PTC's 14
                classes = config.get("classes", config["techniques"])
                technique_model = TechniqueModel(
                    spaces, tuple(classes), arrays["coef"], arrays["intercept"]
                )
            techniques = technique_set(config["techniques"]) if "classes" in config else PTC_14
            return cls(
                span_model,
                technique_model,
                float(config["si_threshold"]),
                float(config["second_technique_threshold"]),
                config.get("training", {}),
                str(config.get("name", MODEL_NAME)),
                str(config.get("version", "")),
                techniques,
                path,
            )
        except (OSError, KeyError, ValueError, TypeError) as error:
            raise PropscanError(
                f"{path}: baseline model files are missing or damaged ({error}); retrain the model"
            ) from error
