"""What the classical model's technique classifier sees: TF-IDF n-grams and document features.

Technique classification (TC) works on spans: TF-IDF n-grams of the span and its context
plus a few document features (how often the fragment recurs in the article: Repetition
is a document-level technique). Each article's normalised text and word counts are
computed once (:class:`ArticleContext`), so per-span work touches only the span.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from propscan.core.spans import Span
from propscan.models.baseline.word_features import QUOTES, WordCache

_NON_ALNUM = re.compile(r"[\W_]+")


class Entries(NamedTuple):
    """The non-zero values of a sparse matrix, with their rows and columns."""

    rows: np.ndarray
    columns: np.ndarray
    values: np.ndarray


_ANALYZERS: dict[str, dict[str, Any]] = {
    "word": {"lowercase": True, "token_pattern": r"(?u)\w+|[!?\"“”]", "ngram_range": (1, 2)},
    "char": {"lowercase": False, "analyzer": "char_wb", "ngram_range": (2, 5)},
    "context": {"lowercase": True, "token_pattern": r"\S+", "ngram_range": (1, 1)},
}
_MAX_TERMS = {"word": 40_000, "char": 60_000, "context": 20_000}
_CONTEXT_WORDS = 3
_NO_COLUMNS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class TfidfSpace:
    """Sublinear TF-IDF with a fixed vocabulary, kept as plain terms and idf weights."""

    kind: str
    terms: tuple[str, ...]
    idf: np.ndarray

    @classmethod
    def fit(cls, kind: str, documents: Sequence[str]) -> TfidfSpace:
        vectorizer = CountVectorizer(**_ANALYZERS[kind], max_features=_MAX_TERMS[kind], min_df=2)
        try:
            counts = vectorizer.fit_transform(documents)
        except ValueError:  # too few documents for min_df: keep every term
            vectorizer = CountVectorizer(**_ANALYZERS[kind], max_features=_MAX_TERMS[kind])
            try:
                counts = vectorizer.fit_transform(documents)
            except ValueError:  # no terms at all (e.g. no context words anywhere)
                return cls(kind, (), np.zeros(0))
        frequency = np.asarray((counts > 0).sum(axis=0)).ravel()
        idf = np.log((1 + len(documents)) / (1 + frequency)) + 1.0
        return cls(kind, tuple(vectorizer.get_feature_names_out()), idf)

    @cached_property
    def _analyzer(self) -> Callable[[str], list[str]]:
        """scikit-learn's own n-grams: the ones the vocabulary was fitted on."""
        return CountVectorizer(**_ANALYZERS[self.kind]).build_analyzer()

    @cached_property
    def _columns(self) -> dict[str, int]:
        return {term: column for column, term in enumerate(self.terms)}

    def _term_columns(self, document: str) -> np.ndarray:
        """The column of each n-gram of ``document`` in order, -1 for unknown ones."""
        return np.fromiter(map(self._columns.get, self._analyzer(document), repeat(-1)), np.int64)

    @cached_property
    def _word_columns(self) -> WordCache[np.ndarray] | None:
        """For n-grams that never cross a word (``char_wb``): each word's columns, found
        once per distinct word rather than once per n-gram of every span."""
        if _ANALYZERS[self.kind].get("analyzer") != "char_wb":
            return None
        return WordCache(self._term_columns, limit=100_000)

    def _document_columns(self, document: str) -> np.ndarray:
        words = self._word_columns
        if words is None:
            return self._term_columns(document)
        return np.concatenate([_NO_COLUMNS, *map(words.__getitem__, document.split())])

    def weights(self, documents: Sequence[str]) -> Entries:
        """The L2-normalised sublinear TF-IDF weights of the terms found in ``documents``.

        Computed directly rather than with a vectorizer per call (whose checks cost more
        than the counting); rows and their columns are in ascending order and the norms are
        summed in that order, so the weights are bit for bit those of scikit-learn's
        ``CountVectorizer`` + sublinear ``TfidfTransformer``.
        """
        terms_of = {  # a span given two techniques is one document twice: analyse it once
            document: self._document_columns(document) for document in dict.fromkeys(documents)
        }
        found = [terms_of[document] for document in documents]
        rows = np.repeat(np.arange(len(documents)), list(map(len, found)))
        terms = np.concatenate([np.zeros(0, dtype=np.int64), *found])
        known = terms >= 0  # -1: not in the vocabulary
        width = max(len(self.terms), 1)
        keys, counts = np.unique(rows[known] * width + terms[known], return_counts=True)
        rows, terms = np.divmod(keys, width)
        values = (1.0 + np.log(counts.astype(np.float64))) * self.idf[terms]
        squares = np.zeros(len(documents))
        np.add.at(squares, rows, values * values)
        return Entries(rows, terms, values / np.sqrt(squares)[rows])


def _normalise(text: str) -> str:
    return _NON_ALNUM.sub(" ", text.lower()).strip()


@dataclass(frozen=True, eq=False)
class ArticleContext:
    """What the technique features need to know about the whole article, computed once."""

    text: str
    normalised: str
    word_counts: Counter[str]
    line_starts: np.ndarray

    @classmethod
    def of(cls, text: str) -> ArticleContext:
        normalised = f" {_normalise(text)} "
        lines = np.asarray([0] + [m.end() for m in re.finditer("\n", text)])
        return cls(text, normalised, Counter(normalised.split()), lines)

    def line_bounds(self, offset: int) -> tuple[int, int]:
        index = int(np.searchsorted(self.line_starts, offset, side="right")) - 1
        start = int(self.line_starts[index])
        end = self.text.find("\n", start)
        return start, len(self.text) if end < 0 else end


def context_words(context: ArticleContext, span: Span) -> str:
    line_start, line_end = context.line_bounds(span.start)
    left = _normalise(context.text[line_start : span.start]).split()[-_CONTEXT_WORDS:]
    right = _normalise(context.text[span.end : max(line_end, span.end)]).split()[:_CONTEXT_WORDS]
    return " ".join([*(f"L:{w}" for w in left), *(f"R:{w}" for w in right)])


#: The dense features of a span, in the order :func:`document_features` returns them.
DOCUMENT_FEATURES = (
    "log characters",
    "log words",
    "log repeats in article",
    "repeated in article",
    "log max word frequency in article",
    "log mean word frequency in article",
    "uppercase letter ratio",
    "exclamation mark",
    "question mark",
    "quoted",
    "share of the line",
    "starts the line",
    "in the title line",
)


def document_features(context: ArticleContext, span: Span) -> list[float]:
    """Length, repetition in the article, capitalisation, punctuation, place in the line."""
    fragment = span.fragment(context.text)
    normalised = _normalise(fragment)
    words = normalised.split()
    repeats = context.normalised.count(f" {normalised} ") - 1 if normalised else 0
    word_frequency = [max(context.word_counts[w], 1) for w in words if len(w) > 3] or [1]
    letters = list(filter(str.isalpha, fragment))  # filter and map loop in C
    line_start, line_end = context.line_bounds(span.start)
    line_length = max(line_end - line_start, 1)
    return [
        math.log1p(len(fragment)) / 5,
        math.log1p(len(words)) / 3,
        math.log1p(max(repeats, 0)),
        float(repeats > 0),
        math.log(max(word_frequency)) / 3,
        math.log(sum(word_frequency) / len(word_frequency)) / 3,  # as np.mean: exact sum
        sum(map(str.isupper, letters)) / max(len(letters), 1),
        float("!" in fragment),
        float("?" in fragment),
        float(fragment[:1] in QUOTES or context.text[span.start - 1 : span.start] in QUOTES),
        min(span.length / line_length, 1.0),
        float(span.start == line_start),
        float(line_start == 0),
    ]


def technique_features(
    spaces: Sequence[TfidfSpace], contexts: Sequence[ArticleContext], spans: Sequence[Span]
) -> sparse.csr_matrix:
    """One row per span: the TF-IDF blocks of ``spaces`` and the document features."""
    fragments = [span.fragment(c.text) for c, span in zip(contexts, spans, strict=True)]
    around = [context_words(c, span) for c, span in zip(contexts, spans, strict=True)]
    inputs = {"word": fragments, "char": fragments, "context": around}
    dense = np.asarray(
        [document_features(c, span) for c, span in zip(contexts, spans, strict=True)]
    ).reshape(len(spans), len(DOCUMENT_FEATURES))
    blocks, offset = [], 0
    for space in spaces:
        rows, columns, values = space.weights(inputs[space.kind])
        blocks.append(Entries(rows, columns + offset, values))
        offset += len(space.terms)
    rows, columns = np.nonzero(dense)
    blocks.append(Entries(rows, columns + offset, dense[rows, columns]))
    rows, columns, values = (np.concatenate(part) for part in zip(*blocks, strict=True))
    shape = (len(spans), offset + len(DOCUMENT_FEATURES))
    return sparse.csr_matrix((values, (rows, columns)), shape=shape)
