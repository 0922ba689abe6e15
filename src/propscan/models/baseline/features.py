"""What the classical model sees: words with offsets, hashed word features, span features.

Span identification (SI) works on words: each word gets hashed binary features of
itself, its shape, its neighbours, its place in the sentence and in quotes. Technique
classification (TC) works on spans: TF-IDF n-grams of the span and its context plus a
few document features (how often the fragment recurs in the article: Repetition is a
document-level technique). Each article's normalised text and word counts are computed
once (:class:`ArticleContext`), so per-span work touches only the span.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from propscan.core.sentences import sentence_starts
from propscan.core.spans import Span, merge_spans

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_QUOTES = frozenset('"“”‘’«»')
_NON_ALNUM = re.compile(r"[\W_]+")


# --- words ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    """A word or a single punctuation character, located by character offsets."""

    start: int
    end: int
    text: str

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum() or self.text[0] == "_"


def tokenize(text: str) -> list[Token]:
    """Words (with inner apostrophes) and punctuation characters; whitespace is skipped."""
    return [Token(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]


def token_offsets(tokens: Sequence[Token]) -> np.ndarray:
    """``[start, end)`` of each token as an ``[n, 2]`` array (what the decoder reads)."""
    return np.asarray([(token.start, token.end) for token in tokens], dtype=np.int64).reshape(-1, 2)


# --- span identification: hashed word features ----------------------------------------

_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_LEFT_EDGE = np.uint64(0x1F2E3D4C5B6A7988)
_RIGHT_EDGE = np.uint64(0x2A3B4C5D6E7F8091)


@dataclass(frozen=True, slots=True)
class _TokenKeys:
    """64-bit hashes of a token's lowercased word, prefix, suffix and shape."""

    word: int
    prefix: int
    suffix: int
    shape: int


def _hash_string(value: str) -> int:
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _shape(word: str) -> str:
    if not (word[0].isalnum() or word[0] == "_"):
        return word  # a punctuation character is its own shape
    if any(character.isdigit() for character in word):
        return "digit"
    if word.isupper() and len(word) > 1:
        return "UPPER"
    return "Title" if word[0].isupper() else "lower"


#: Distinct words a :class:`KeyCache` holds before it starts afresh (about 100 MB).
KEY_CACHE_LIMIT = 500_000


class KeyCache(dict[str, _TokenKeys]):
    """Token text -> hashed keys, computed once per distinct token.

    A model keeps one for its lifetime; it starts afresh past :data:`KEY_CACHE_LIMIT`
    words, so that an endless stream of new words cannot grow it without bound (keys are
    pure functions of the word, so forgetting them changes no result).
    """

    def __missing__(self, word: str) -> _TokenKeys:
        if len(self) >= KEY_CACHE_LIMIT:
            self.clear()
        lower = word.lower()
        keys = _TokenKeys(
            _hash_string("w" + lower),
            _hash_string("p" + lower[:3]),
            _hash_string("s" + lower[-3:]),
            _hash_string("h" + _shape(word)),
        )
        self[word] = keys
        return keys


def _mix(template: int, *keys: np.ndarray) -> np.ndarray:
    """Hash a feature template and key columns (integers or booleans) into one uint64 per token."""
    seed = np.uint64(((template + 1) * int(_MULTIPLIER)) % 2**64)
    mixed = np.full(keys[0].shape, seed, dtype=np.uint64)
    for key in keys:
        mixed = (mixed ^ key.astype(np.uint64)) * _MULTIPLIER
        mixed ^= mixed >> np.uint64(29)
    return mixed


def _neighbour(values: np.ndarray, sentence: np.ndarray, shift: int) -> np.ndarray:
    """``values`` shifted by ``shift`` tokens, with an edge marker across sentence boundaries."""
    count = len(values)
    index = np.arange(count) + shift
    inside = (index >= 0) & (index < count)
    clipped = np.clip(index, 0, max(count - 1, 0))
    same_sentence = inside & (sentence[clipped] == sentence)
    edge = _LEFT_EDGE if shift < 0 else _RIGHT_EDGE
    return np.where(same_sentence, values[clipped], edge)


def token_features(
    text: str, tokens: Sequence[Token], hash_bits: int, cache: KeyCache | None = None
) -> sparse.csr_matrix:
    """One row of hashed binary features per token: the word, its shape, its neighbours,
    its place in the sentence and whether it is inside quotes or an exclamation."""
    count = len(tokens)
    width = 1 << hash_bits
    if count == 0:
        return sparse.csr_matrix((0, width), dtype=np.float32)
    cache = cache if cache is not None else KeyCache()
    keys = [cache[token.text] for token in tokens]
    word = np.fromiter((k.word for k in keys), dtype=np.uint64, count=count)
    prefix = np.fromiter((k.prefix for k in keys), dtype=np.uint64, count=count)
    suffix = np.fromiter((k.suffix for k in keys), dtype=np.uint64, count=count)
    shape = np.fromiter((k.shape for k in keys), dtype=np.uint64, count=count)
    starts = np.fromiter((token.start for token in tokens), dtype=np.int64, count=count)

    sentence = np.searchsorted(np.asarray(sentence_starts(text)), starts, side="right") - 1
    first_of_sentence = np.r_[True, sentence[1:] != sentence[:-1]]
    sentence_begin = np.maximum.accumulate(np.where(first_of_sentence, np.arange(count), 0))
    position = np.arange(count) - sentence_begin
    _, inverse, lengths = np.unique(sentence, return_inverse=True, return_counts=True)
    length = lengths[inverse]
    from_end = length - 1 - position

    is_quote = np.fromiter((t.text in _QUOTES for t in tokens), dtype=np.int64, count=count)
    quotes_before = np.cumsum(is_quote) - is_quote
    inside_quotes = (quotes_before - quotes_before[sentence_begin]) % 2
    exclaims = np.fromiter((t.text == "!" for t in tokens), dtype=np.int64, count=count)
    questions = np.fromiter((t.text == "?" for t in tokens), dtype=np.int64, count=count)
    sentence_exclaims = np.bincount(inverse, exclaims)[inverse] > 0
    sentence_questions = np.bincount(inverse, questions)[inverse] > 0
    first_line_end = text.find("\n") if "\n" in text else len(text)
    on_first_line = starts < first_line_end

    near = {shift: _neighbour(word, sentence, shift) for shift in (-2, -1, 1, 2)}
    columns = [
        _mix(0, word),
        _mix(1, prefix),
        _mix(2, suffix),
        _mix(3, shape),
        _mix(4, near[-2]),
        _mix(5, near[-1]),
        _mix(6, near[1]),
        _mix(7, near[2]),
        _mix(8, near[-1], word),
        _mix(9, word, near[1]),
        _mix(10, _neighbour(shape, sentence, -1), shape, _neighbour(shape, sentence, 1)),
        _mix(11, np.minimum(position, 5)),
        _mix(12, np.minimum(from_end, 5)),
        _mix(13, 10 * position // np.maximum(length, 1)),
        _mix(14, np.minimum(np.log2(length).astype(np.int64), 7)),
        _mix(15, inside_quotes, word),
        _mix(16, inside_quotes),
        _mix(17, sentence_exclaims),
        _mix(18, sentence_questions),
        _mix(19, on_first_line),
    ]
    # A bag of the words 3 to 6 tokens away gives each word its wider context.
    columns.extend(_mix(20, _neighbour(word, sentence, s)) for s in (-6, -5, -4, -3, 3, 4, 5, 6))
    hashed = np.stack(columns, axis=1) % np.uint64(width)
    rows = np.repeat(np.arange(count), hashed.shape[1])
    data = np.ones(hashed.size, dtype=np.float32)
    matrix = sparse.csr_matrix(
        (data, (rows, hashed.ravel().astype(np.int64))), shape=(count, width)
    )
    matrix.sum_duplicates()
    return matrix


def token_labels(tokens: Sequence[Token], spans: Iterable[Span], length: int) -> np.ndarray:
    """1 for tokens whose characters are mostly inside a gold span, else 0."""
    inside = np.zeros(length + 1, dtype=np.int64)
    for span in merge_spans(spans):
        inside[span.start] += 1
        inside[min(span.end, length)] -= 1
    covered = np.r_[0, np.cumsum(np.cumsum(inside)[:length] > 0)]
    starts = np.fromiter((t.start for t in tokens), dtype=np.int64, count=len(tokens))
    ends = np.fromiter((t.end for t in tokens), dtype=np.int64, count=len(tokens))
    return ((covered[ends] - covered[starts]) * 2 >= (ends - starts)).astype(np.int64)


# --- technique classification: TF-IDF + document features ------------------------------

_ANALYZERS: dict[str, dict[str, Any]] = {
    "word": {"lowercase": True, "token_pattern": r"(?u)\w+|[!?\"“”]", "ngram_range": (1, 2)},
    "char": {"lowercase": False, "analyzer": "char_wb", "ngram_range": (2, 5)},
    "context": {"lowercase": True, "token_pattern": r"\S+", "ngram_range": (1, 1)},
}
_MAX_TERMS = {"word": 40_000, "char": 60_000, "context": 20_000}
_CONTEXT_WORDS = 3


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
    def _counter(self) -> CountVectorizer:
        """Built once per model: scikit-learn re-validates a fresh vocabulary on first use."""
        vocabulary = {term: index for index, term in enumerate(self.terms)}
        return CountVectorizer(**_ANALYZERS[self.kind], vocabulary=vocabulary)

    def transform(self, documents: Sequence[str]) -> sparse.csr_matrix:
        if not self.terms:
            return sparse.csr_matrix((len(documents), 0))
        counts = self._counter.transform(documents)
        counts = counts.astype(np.float64)
        counts.data = 1.0 + np.log(counts.data)
        return normalize(sparse.csr_matrix(counts.multiply(self.idf)))


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
    letters = [c for c in fragment if c.isalpha()]
    line_start, line_end = context.line_bounds(span.start)
    line_length = max(line_end - line_start, 1)
    return [
        math.log1p(len(fragment)) / 5,
        math.log1p(len(words)) / 3,
        math.log1p(max(repeats, 0)),
        float(repeats > 0),
        math.log(max(word_frequency)) / 3,
        math.log(float(np.mean(word_frequency))) / 3,
        sum(c.isupper() for c in letters) / max(len(letters), 1),
        float("!" in fragment),
        float("?" in fragment),
        float(fragment[:1] in _QUOTES or context.text[span.start - 1 : span.start] in _QUOTES),
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
    ).reshape(len(spans), -1)
    blocks = [space.transform(inputs[space.kind]) for space in spaces]
    return sparse.hstack([*blocks, sparse.csr_matrix(dense)], format="csr")
