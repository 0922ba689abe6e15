"""The interface every propaganda model implements, and the ``model.json`` of a model directory.

A model directory holds ``model.json`` (``kind``, ``name``, ``version``, settings)
plus the files of its kind. This module names no implementation:
:mod:`propscan.models.registry` maps a ``kind`` to the class that loads it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from propscan.core.model_text import model_text
from propscan.core.spans import Annotations, Span
from propscan.core.techniques import TechniqueSet, technique_set
from propscan.errors import PropscanError

MODEL_FORMAT_VERSION = 1
#: The model shipped inside the package.
DEFAULT_MODEL_DIR = Path(__file__).parent.parent / "default_model"


@dataclass(frozen=True, slots=True)
class TokenScore:
    """Propaganda probability of one token, located by character offsets."""

    start: int
    end: int
    score: float


@dataclass(frozen=True, eq=False)
class TokenScores:
    """Propaganda probability of every token of one text, as parallel arrays.

    An article has thousands of tokens: arrays cost nothing per token where one object
    each cost more than decoding the article. Iterating gives :class:`TokenScore` items.
    """

    offsets: np.ndarray  # int64 [n, 2], [start, end) of each token, in text order
    scores: np.ndarray  # float64 [n]

    @classmethod
    def of(cls, tokens: Iterable[TokenScore] = ()) -> TokenScores:
        rows = [(token.start, token.end, token.score) for token in tokens]
        offsets = np.asarray([row[:2] for row in rows], dtype=np.int64).reshape(-1, 2)
        return cls(offsets, np.asarray([row[2] for row in rows], dtype=np.float64))

    def __len__(self) -> int:
        return len(self.scores)

    def __iter__(self) -> Iterator[TokenScore]:
        starts, ends = self.offsets.T.tolist() if len(self) else ([], [])
        return map(TokenScore, starts, ends, self.scores.tolist())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TokenScores):
            return NotImplemented
        return np.array_equal(self.offsets, other.offsets) and np.array_equal(
            self.scores, other.scores
        )


@dataclass(frozen=True)
class Prediction:
    """What a model says about one text.

    ``spans`` carry a technique and a score (confidence that the fragment uses that
    technique) and may overlap; ``token_scores`` give the per-token propaganda
    probability that sentence scores and highlight intensities are built from.
    """

    spans: tuple[Span, ...]
    token_scores: TokenScores = field(default_factory=TokenScores.of)


class Detector(Protocol):
    """A trained model: spans with techniques (FLC) and technique classification (TC).

    ``techniques`` is the model's own label set: every span it predicts carries one of
    them, and every view of its results lists them. ``decision_threshold`` is the tuned
    threshold :meth:`predict` applies when given none, so every result can say which
    threshold made it; ``directory`` is where the model was loaded from (``None`` for one
    made in memory), where files that describe it lie beside ``model.json``.
    """

    name: str
    version: str
    techniques: TechniqueSet

    @property
    def decision_threshold(self) -> float: ...

    @property
    def directory(self) -> Path | None: ...

    def predict(self, texts: Sequence[str], threshold: float | None = None) -> list[Prediction]:
        """Spans of every text; ``threshold`` overrides the tuned decision threshold (0..1)."""
        ...

    def classify(self, text: str, spans: Sequence[Span]) -> list[dict[str, float]]:
        """Technique probabilities for each given span of ``text`` (the TC task)."""
        ...

    def save(self, directory: str | os.PathLike[str]) -> Path: ...


def predict_as_read(
    detector: Detector, texts: Sequence[str], threshold: float | None = None
) -> list[Prediction]:
    """``detector``'s predictions for ``texts`` read as every model reads an article
    (composed, one ``\\n`` per line end: :func:`~propscan.core.model_text.model_text`),
    in offsets of the texts as given."""
    readable = [model_text(text) for text in texts]
    predictions = detector.predict([read.text for read in readable], threshold)
    return [
        Prediction(
            tuple(read.original_span(span) for span in prediction.spans),
            TokenScores(
                read.original_offsets(prediction.token_scores.offsets),
                prediction.token_scores.scores,
            ),
        )
        for read, prediction in zip(readable, predictions, strict=True)
    ]


def techniques_of(gold: Annotations) -> TechniqueSet:
    """The technique set of training data: its gold labels, sorted (PTC's 14 for PTC)."""
    labels = sorted({span.technique for _, span in gold if span.technique is not None})
    if not labels:
        raise PropscanError("training needs gold spans with techniques (FLC labels)")
    return technique_set(labels)


def read_model_config(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``model.json`` of a model directory, checked for kind and format version."""
    path = Path(directory) / "model.json"
    if not path.is_file():
        raise PropscanError(
            f"{directory}: not a propscan model directory (no model.json); "
            "train one with 'propscan train' or omit --model to use the shipped model"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise PropscanError(f"{path}: not valid JSON ({error})") from error
    if config.get("format_version") != MODEL_FORMAT_VERSION:
        raise PropscanError(
            f"{path}: model format version {config.get('format_version')!r} is not supported "
            f"(this propscan reads version {MODEL_FORMAT_VERSION})"
        )
    return config


def write_model_config(directory: str | os.PathLike[str], config: dict[str, Any]) -> Path:
    """Write ``model.json`` with the current format version (any older one is replaced)."""
    path = Path(directory) / "model.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = {key: value for key, value in config.items() if key != "format_version"}
    payload = {"format_version": MODEL_FORMAT_VERSION, **settings}
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
