"""A fast classical propaganda model: the comparison row of every results table.

Span identification (SI) is word-level classification with a linear model on hashed
features of each word and its context; runs of propaganda words become spans.
Technique classification (TC) is a multinomial logistic regression over TF-IDF
n-grams of the span and its context plus a few document features (Repetition is
a document-level technique). The model is stored as ``model.json`` + ``.npz``
arrays + a JSON vocabulary, without pickle, so loading a model runs no code.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.preprocessing import normalize
from tqdm import tqdm

from propscan import __version__
from propscan.corpus import merge_spans, validation_ids
from propscan.data import Annotations, Article, Span
from propscan.detector import Prediction, TokenScore, read_model_config, write_model_config
from propscan.errors import PropscanError
from propscan.techniques import TECHNIQUES

KIND = "baseline"
MODEL_NAME = "propscan-baseline"
HASH_BITS = 20
DEFAULT_SI_THRESHOLD = 0.5
DEFAULT_SECOND_THRESHOLD = 0.5
#: Stochastic gradient steps of the span model (about 15 passes over the PTC train split).
SPAN_MODEL_UPDATES = 5_000_000
#: Words below the threshold that a span may bridge between two propaganda words.
MAX_GAP_WORDS = 3
#: Characters a span never starts or ends with (the PTC v2 annotation convention).
SPAN_EDGE_CHARACTERS = ".,:;"

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])")
_QUOTES = frozenset('"“”‘’«»')
_NON_ALNUM = re.compile(r"[\W_]+")


# --- tokens and sentences -------------------------------------------------------------


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


def sentence_starts(text: str) -> list[int]:
    """Start offsets of sentences: every line, split further after ``.!?`` before a capital."""
    starts = []
    offset = 0
    for line in text.split("\n"):
        starts.append(offset)
        starts.extend(offset + m.end() for m in _SENTENCE_BREAK.finditer(line))
        offset += len(line) + 1
    return starts


def trim_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``start:end`` without leading/trailing whitespace or ``.,:;``; None if nothing is left."""
    while start < end and (text[start].isspace() or text[start] in SPAN_EDGE_CHARACTERS):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in SPAN_EDGE_CHARACTERS):
        end -= 1
    if not any(character.isalnum() for character in text[start:end]):
        return None
    return start, end


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


class _KeyCache(dict[str, _TokenKeys]):
    """Token text -> hashed keys, computed once per distinct token."""

    def __missing__(self, word: str) -> _TokenKeys:
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
    text: str, tokens: Sequence[Token], hash_bits: int, cache: _KeyCache | None = None
) -> sparse.csr_matrix:
    """One row of hashed binary features per token: the word, its shape, its neighbours,
    its place in the sentence and whether it is inside quotes or an exclamation."""
    count = len(tokens)
    width = 1 << hash_bits
    if count == 0:
        return sparse.csr_matrix((0, width), dtype=np.float32)
    cache = cache if cache is not None else _KeyCache()
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


def decode_spans(
    text: str, tokens: Sequence[Token], probabilities: np.ndarray, threshold: float
) -> list[tuple[int, int, float]]:
    """Runs of tokens with probability >= ``threshold`` as trimmed ``(start, end, confidence)``.

    A run bridges up to :data:`MAX_GAP_WORDS` words below the threshold (and any
    punctuation) and ends at a line break. The confidence is the mean probability of the
    span's words; a one-word span needs twice the threshold, as lone words are mostly noise.
    """
    found: list[tuple[int, int, float]] = []
    first = last = -1  # the first and last token above threshold of the current run
    gap = 0  # words below threshold since ``last``

    def close() -> None:
        trimmed = trim_span(text, tokens[first].start, tokens[last].end)
        if trimmed is None:
            return
        words = [i for i in range(first, last + 1) if tokens[i].is_word] or [first]
        confidence = float(np.mean(probabilities[words]))
        if len(words) > 1 or confidence >= 2 * threshold:
            found.append((*trimmed, confidence))

    for index, token in enumerate(tokens):
        if last >= 0 and "\n" in text[tokens[index - 1].end : token.start]:
            close()
            first = last = -1
        if probabilities[index] >= threshold:
            first = index if last < 0 else first
            last, gap = index, 0
        elif token.is_word and last >= 0:
            gap += 1
            if gap > MAX_GAP_WORDS:
                close()
                first = last = -1
    if last >= 0:
        close()
    return found


@dataclass(frozen=True, eq=False)
class SpanModel:
    """Logistic word classifier: probability that a word is part of a propaganda span."""

    coef: np.ndarray
    intercept: float
    hash_bits: int = HASH_BITS

    def __post_init__(self) -> None:
        if self.coef.shape != (1 << self.hash_bits,):
            raise ValueError(f"span weights of shape {self.coef.shape} for {self.hash_bits} bits")

    def token_probabilities(self, text: str) -> tuple[list[Token], np.ndarray]:
        tokens = tokenize(text)
        if not tokens:
            return tokens, np.zeros(0)
        logits = token_features(text, tokens, self.hash_bits) @ self.coef + self.intercept
        return tokens, 1.0 / (1.0 + np.exp(-logits))


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

    def transform(self, documents: Sequence[str]) -> sparse.csr_matrix:
        if not self.terms:
            return sparse.csr_matrix((len(documents), 0))
        vocabulary = {term: index for index, term in enumerate(self.terms)}
        counts = CountVectorizer(**_ANALYZERS[self.kind], vocabulary=vocabulary).transform(
            documents
        )
        counts = counts.astype(np.float64)
        counts.data = 1.0 + np.log(counts.data)
        return normalize(sparse.csr_matrix(counts.multiply(self.idf)))


def _normalise(text: str) -> str:
    return _NON_ALNUM.sub(" ", text.lower()).strip()


@dataclass(frozen=True, eq=False)
class _ArticleContext:
    """What the technique features need to know about the whole article, computed once."""

    text: str
    normalised: str
    word_counts: Counter[str]
    line_starts: np.ndarray

    @classmethod
    def of(cls, text: str) -> _ArticleContext:
        normalised = f" {_normalise(text)} "
        lines = np.asarray([0] + [m.end() for m in re.finditer("\n", text)])
        return cls(text, normalised, Counter(normalised.split()), lines)

    def line_bounds(self, offset: int) -> tuple[int, int]:
        index = int(np.searchsorted(self.line_starts, offset, side="right")) - 1
        start = int(self.line_starts[index])
        end = self.text.find("\n", start)
        return start, len(self.text) if end < 0 else end


def _context_words(context: _ArticleContext, span: Span) -> str:
    line_start, line_end = context.line_bounds(span.start)
    left = _normalise(context.text[line_start : span.start]).split()[-_CONTEXT_WORDS:]
    right = _normalise(context.text[span.end : max(line_end, span.end)]).split()[:_CONTEXT_WORDS]
    return " ".join([*(f"L:{w}" for w in left), *(f"R:{w}" for w in right)])


#: The dense features of a span, in the order :func:`_document_features` returns them.
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


def _document_features(context: _ArticleContext, span: Span) -> list[float]:
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
        unknown = set(self.classes) - set(TECHNIQUES)
        if unknown:
            raise ValueError(f"unknown techniques {sorted(unknown)}")

    @staticmethod
    def features(
        spaces: Sequence[TfidfSpace], contexts: Sequence[_ArticleContext], spans: Sequence[Span]
    ) -> sparse.csr_matrix:
        fragments = [span.fragment(c.text) for c, span in zip(contexts, spans, strict=True)]
        around = [_context_words(c, span) for c, span in zip(contexts, spans, strict=True)]
        inputs = {"word": fragments, "char": fragments, "context": around}
        dense = np.asarray(
            [_document_features(c, span) for c, span in zip(contexts, spans, strict=True)]
        ).reshape(len(spans), -1)
        blocks = [space.transform(inputs[space.kind]) for space in spaces]
        return sparse.hstack([*blocks, sparse.csr_matrix(dense)], format="csr")

    def probabilities(self, text: str, spans: Sequence[Span]) -> np.ndarray:
        """Rows of probabilities over :data:`TECHNIQUES` (0 for techniques never seen)."""
        result = np.zeros((len(spans), len(TECHNIQUES)))
        if not spans:
            return result
        context = _ArticleContext.of(text)
        logits = self.features(self.spaces, [context] * len(spans), spans) @ self.coef.T
        logits = np.asarray(logits) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exponentials = np.exp(logits)
        probabilities = exponentials / exponentials.sum(axis=1, keepdims=True)
        columns = [TECHNIQUES.index(label) for label in self.classes]
        result[:, columns] = probabilities
        return result


# --- the detector ---------------------------------------------------------------------


def _progress(items: Iterable[Any], enabled: bool, description: str, total: int) -> Iterable[Any]:
    """A tqdm bar on stderr, hidden when disabled or when stderr is not a terminal."""
    return tqdm(items, desc=description, total=total, disable=None if enabled else True)


def _check_threshold(value: float, what: str) -> float:
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise PropscanError(f"{what} must be between 0 and 1, got {value}")
    return float(value)


@dataclass(frozen=True, eq=False)
class BaselineDetector:
    """The classical baseline; implements :class:`propscan.detector.Detector`."""

    span_model: SpanModel
    technique_model: TechniqueModel
    si_threshold: float = DEFAULT_SI_THRESHOLD
    second_threshold: float = DEFAULT_SECOND_THRESHOLD
    training: Mapping[str, Any] = field(default_factory=dict)
    name: str = MODEL_NAME
    version: str = __version__

    def predict(self, texts: Sequence[str], threshold: float | None = None) -> list[Prediction]:
        """Spans with their most probable technique (and the second one when it is likely too)."""
        cutoff = (
            self.si_threshold if threshold is None else _check_threshold(threshold, "threshold")
        )
        return [self._predict_one(text, cutoff, self.second_threshold) for text in texts]

    def _predict_one(self, text: str, threshold: float, second_threshold: float) -> Prediction:
        tokens, probabilities = self.span_model.token_probabilities(text)
        scores = tuple(
            TokenScore(t.start, t.end, float(p)) for t, p in zip(tokens, probabilities, strict=True)
        )
        found = decode_spans(text, tokens, probabilities, threshold)
        spans = label_spans(
            found,
            self.technique_model.probabilities(text, [Span(s, e) for s, e, _ in found]),
            second_threshold,
        )
        return Prediction(spans=tuple(sorted(spans)), token_scores=scores)

    def classify(self, text: str, spans: Sequence[Span]) -> list[dict[str, float]]:
        """Probability of each of the 14 techniques for each span of ``text``."""
        for span in spans:
            if span.end > len(text):
                raise PropscanError(
                    f"span {span.start}:{span.end} ends beyond the text ({len(text)} characters)"
                )
        rows = self.technique_model.probabilities(text, spans)
        return [{t: float(p) for t, p in zip(TECHNIQUES, row, strict=True)} for row in rows]

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
        np.savez_compressed(
            path / "technique-model.npz",
            coef=self.technique_model.coef,
            intercept=self.technique_model.intercept,
            **{f"idf_{space.kind}": space.idf for space in spaces},
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
                "second_threshold": self.second_threshold,
                "hash_bits": self.span_model.hash_bits,
                "techniques": list(self.technique_model.classes),
                "feature_spaces": [space.kind for space in spaces],
                "training": dict(self.training),
            },
        )

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> BaselineDetector:
        path = Path(directory)
        config = read_model_config(path)
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
                technique_model = TechniqueModel(
                    spaces, tuple(config["techniques"]), arrays["coef"], arrays["intercept"]
                )
            return cls(
                span_model,
                technique_model,
                float(config["si_threshold"]),
                float(config["second_threshold"]),
                config.get("training", {}),
                str(config.get("name", MODEL_NAME)),
                str(config.get("version", "")),
            )
        except (OSError, KeyError, ValueError, TypeError) as error:
            raise PropscanError(
                f"{path}: baseline model files are missing or damaged ({error}); retrain the model"
            ) from error


def label_spans(
    found: Sequence[tuple[int, int, float]], probabilities: np.ndarray, second_threshold: float
) -> list[Span]:
    """FLC spans: each found span with its best technique, plus the second-best one when its
    probability reaches ``second_threshold``. Score = SI confidence x technique probability."""
    spans = []
    for (start, end, confidence), row in zip(found, probabilities, strict=True):
        best, second = np.argsort(row)[::-1][:2]
        spans.append(Span(start, end, TECHNIQUES[best], confidence * float(row[best])))
        if row[second] >= second_threshold and row[second] > 0:
            spans.append(Span(start, end, TECHNIQUES[second], confidence * float(row[second])))
    return spans


# --- training -------------------------------------------------------------------------


def _fit_span_model(
    articles: Sequence[Article], gold: Annotations, seed: int, progress: bool
) -> SpanModel:
    cache = _KeyCache()
    matrices, labels = [], []
    for article in _progress(articles, progress, "span features", len(articles)):
        tokens = tokenize(article.text)
        matrices.append(token_features(article.text, tokens, HASH_BITS, cache))
        labels.append(token_labels(tokens, gold[article.id], len(article.text)))
    target = np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)
    if len(set(target.tolist())) < 2:
        raise PropscanError(
            "cannot train the span model: the training articles need both propaganda "
            "and non-propaganda words (check that the gold labels match the articles)"
        )
    # A fixed number of updates rather than of epochs: small training sets get more passes,
    # without which their weights stay at the large early steps and probabilities are extreme.
    epochs = int(np.clip(math.ceil(SPAN_MODEL_UPDATES / len(target)), 15, 200))
    classifier = SGDClassifier(
        loss="log_loss", alpha=5e-5, max_iter=epochs, tol=None, average=True, random_state=seed
    )
    classifier.fit(sparse.vstack(matrices, format="csr"), target)
    # float32 weights: half the size on disk, and a reloaded model predicts exactly the same.
    return SpanModel(classifier.coef_[0].astype(np.float32), float(classifier.intercept_[0]))


def _fit_technique_model(
    articles: Sequence[Article], gold: Annotations, seed: int
) -> TechniqueModel:
    contexts, spans = [], []
    for article in articles:
        context = _ArticleContext.of(article.text)
        for span in gold[article.id]:
            contexts.append(context)
            spans.append(span)
    if not spans:
        raise PropscanError("cannot train the technique model: the gold labels have no spans")
    fragments = [span.fragment(c.text) for c, span in zip(contexts, spans, strict=True)]
    around = [_context_words(c, span) for c, span in zip(contexts, spans, strict=True)]
    spaces = (
        TfidfSpace.fit("word", fragments),
        TfidfSpace.fit("char", fragments),
        TfidfSpace.fit("context", around),
    )
    features = TechniqueModel.features(spaces, contexts, spans)
    target = [span.technique for span in spans]
    classes = tuple(sorted(set(target)))
    if len(classes) == 1:  # a single technique: it always gets probability 1
        coef = np.zeros((1, features.shape[1]))
        return TechniqueModel(spaces, classes, coef, np.zeros(1))
    classifier = LogisticRegression(
        C=10.0, solver="saga", tol=1e-3, max_iter=100, random_state=seed
    )
    with warnings.catch_warnings():  # iterations are capped on purpose: training stays fast
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(features, target)
    coef, intercept = classifier.coef_, classifier.intercept_
    if len(classes) == 2:  # binary sklearn models keep one row: softmax([0, z]) = sigmoid(z)
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.r_[0.0, intercept]
    return TechniqueModel(spaces, tuple(classifier.classes_), coef.astype(np.float32), intercept)


def _check_gold(articles: Sequence[Article], gold: Annotations) -> None:
    by_id = {article.id: article for article in articles}
    for article_id, span in gold:
        article = by_id.get(article_id)
        if article is None:
            continue
        if span.end > len(article.text):
            raise PropscanError(
                f"gold span {span.start}:{span.end} ends beyond article {article_id} "
                f"({len(article.text)} characters)"
            )
        if span.technique is None:
            raise PropscanError(
                f"gold span {span.start}:{span.end} of article {article_id} has no technique; "
                "training needs FLC labels (ID TECHNIQUE START END)"
            )


def _best_threshold(candidates: Sequence[float], score: Callable[[float], float]) -> float:
    """The candidate with the highest score (the lowest one among ties)."""
    results = [(score(candidate), -candidate) for candidate in candidates]
    return -max(results)[1]


def _tune_thresholds(
    detector: BaselineDetector, articles: Sequence[Article], gold: Annotations
) -> tuple[float, float, dict[str, float]]:
    """SI and second-technique thresholds that maximise SI and FLC F1 on held-out articles."""
    from propscan.scoring import score_flc, score_si

    decoded = []
    for article in articles:
        tokens, probabilities = detector.span_model.token_probabilities(article.text)
        decoded.append((article, tokens, probabilities))
    gold_si = Annotations(
        {article.id: tuple(merge_spans(gold[article.id])) for article in articles}
    )

    def si_at(threshold: float) -> Annotations:
        return Annotations(
            {
                article.id: tuple(
                    Span(s, e) for s, e, _ in decode_spans(article.text, tokens, probs, threshold)
                )
                for article, tokens, probs in decoded
            }
        )

    si_threshold = _best_threshold(
        [round(0.05 * step, 2) for step in range(2, 19)],
        lambda t: score_si(gold_si, si_at(t)).f1,
    )
    labelled = []
    for article, tokens, probabilities in decoded:
        found = decode_spans(article.text, tokens, probabilities, si_threshold)
        rows = detector.technique_model.probabilities(
            article.text, [Span(s, e) for s, e, _ in found]
        )
        labelled.append((article.id, found, rows))
    gold_flc = gold.restrict(article.id for article in articles)

    def flc_at(threshold: float) -> Annotations:
        return Annotations(
            {aid: tuple(label_spans(found, rows, threshold)) for aid, found, rows in labelled}
        )

    second_threshold = _best_threshold(
        [round(0.05 * step, 2) for step in range(2, 21)],
        lambda t: score_flc(gold_flc, flc_at(t)).f1,
    )
    metrics = {
        "validation_si_f1": score_si(gold_si, si_at(si_threshold)).f1,
        "validation_flc_f1": score_flc(gold_flc, flc_at(second_threshold)).f1,
    }
    return si_threshold, second_threshold, metrics


def train_baseline(
    articles: Sequence[Article], gold: Annotations, *, seed: int = 0, progress: bool = True
) -> BaselineDetector:
    """Train on ``articles`` minus the held-out validation part, which tunes the thresholds.

    The validation part is :func:`propscan.corpus.validation_ids` of the article ids; when
    it is empty (tiny training sets) the default thresholds are kept.
    """
    _check_gold(articles, gold)
    held_out = validation_ids(article.id for article in articles)
    fit_articles = [article for article in articles if article.id not in held_out]
    tune_articles = [article for article in articles if article.id in held_out]
    if not fit_articles:
        raise PropscanError("cannot train: every training article is in the validation part")
    detector = BaselineDetector(
        _fit_span_model(fit_articles, gold, seed, progress),
        _fit_technique_model(fit_articles, gold, seed),
    )
    training: dict[str, Any] = {
        "seed": seed,
        "articles": len(fit_articles),
        "validation_articles": len(tune_articles),
    }
    if not tune_articles:
        return BaselineDetector(detector.span_model, detector.technique_model, training=training)
    si_threshold, second_threshold, metrics = _tune_thresholds(detector, tune_articles, gold)
    return BaselineDetector(
        detector.span_model,
        detector.technique_model,
        si_threshold,
        second_threshold,
        {**training, **{key: round(value, 4) for key, value in metrics.items()}},
    )
