"""The numpy side of the transformer model: activations, span features and the span head.

The span classifier (a two-layer MLP over a span's boundary and mean token states plus
document features) is trained in torch and runs here in numpy, so inference needs no
torch; :mod:`~propscan.models.transformer.network` builds the same representation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form; ``x * x * x`` as torch computes it (numpy's ``x**3`` took 8x longer)."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * (x * x * x))))


def softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def span_features(repeats: ArrayLike, n_tokens: ArrayLike) -> np.ndarray:
    """Document-level features of a span: its length and how often it recurs in the article
    (``[3]`` for one span, ``[n, 3]`` for arrays of ``n``).

    Repetition is a document-level technique that a window-bound encoder cannot see;
    ``repeats`` comes from the article's :class:`RepetitionIndex`, built once, so each
    span costs O(span).
    """
    repeats, n_tokens = np.asarray(repeats), np.asarray(n_tokens)
    columns = (np.log1p(n_tokens) / 4.0, np.log1p(repeats), (repeats > 0).astype(np.float64))
    return np.stack(columns, axis=-1).astype(np.float32)


N_SPAN_FEATURES = 3


def span_representations(
    hidden: np.ndarray, first: np.ndarray, last: np.ndarray, features: np.ndarray
) -> np.ndarray:
    """Boundary states, mean state and document features of tokens ``[first, last)`` of
    each span (float64 rows for the span head; every span covers a token)."""
    if not len(first):
        return np.zeros((0, 3 * hidden.shape[1] + N_SPAN_FEATURES))
    means = np.stack([hidden[f:t].mean(axis=0) for f, t in zip(first, last, strict=True)])
    parts = [hidden[first], hidden[last - 1], means, features]
    return np.concatenate(parts, axis=1, dtype=np.float64)


@dataclass(frozen=True)
class SpanHead:
    """Two-layer MLP classifying a span representation into techniques.

    Runs in float64: BLAS sums in an order that depends on its thread count, and float32
    rounding would then let scores differ between a single process and Dask workers.
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def __call__(self, representations: np.ndarray) -> np.ndarray:
        hidden = gelu_tanh(representations @ self.w1.T + self.b1)
        return softmax(hidden @ self.w2.T + self.b2)

    def save(self, path: Path) -> None:
        np.savez(path, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2)

    @classmethod
    def load(cls, path: Path) -> SpanHead:
        with np.load(path) as weights:
            return cls(
                **{name: weights[name].astype(np.float64) for name in ("w1", "b1", "w2", "b2")}
            )
