"""What the classical model's span finder sees: words with offsets and hashed features.

Span identification (SI) works on words: each word gets hashed binary features of
itself, its shape, its neighbours, its place in the sentence and in quotes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import NamedTuple, TypeVar

import numpy as np
from scipy import sparse

from propscan.core.sentences import sentence_starts
from propscan.core.spans import Span, merge_spans

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
QUOTES = frozenset('"“”‘’«»')


# --- words ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Words:
    """The words (with inner apostrophes) and punctuation characters of a text, located by
    character offsets; whitespace is skipped.

    Parallel lists rather than one object per word: an article has thousands of words,
    and making an object for each took longer than finding them.
    """

    texts: list[str]
    offsets: np.ndarray  # int64 [n, 2], [start, end) of each word

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def starts(self) -> np.ndarray:
        return self.offsets[:, 0]

    @property
    def ends(self) -> np.ndarray:
        return self.offsets[:, 1]

    @cached_property
    def is_word(self) -> list[bool]:
        """True for words, False for punctuation characters."""
        return [text[0].isalnum() or text[0] == "_" for text in self.texts]


def tokenize(text: str) -> Words:
    """The words and punctuation characters of ``text`` (one regex pass, mapped in C)."""
    matches = list(_TOKEN.finditer(text))
    spans = chain.from_iterable(map(re.Match.span, matches))
    offsets = np.fromiter(spans, dtype=np.int64, count=2 * len(matches)).reshape(-1, 2)
    return Words(list(map(re.Match.group, matches)), offsets)


# --- span identification: hashed word features ----------------------------------------

_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_LEFT_EDGE = np.uint64(0x1F2E3D4C5B6A7988)
_RIGHT_EDGE = np.uint64(0x2A3B4C5D6E7F8091)
#: Shifts of the words 3 to 6 tokens away (one feature template for all of them).
_WIDE_CONTEXT = (-6, -5, -4, -3, 3, 4, 5, 6)
#: Hashed features per token: 20 templates, then one per word of the wider context.
_COLUMNS_PER_TOKEN = 20 + len(_WIDE_CONTEXT)


class _TokenKeys(NamedTuple):
    """64-bit hashes of a token's lowercased word, prefix, suffix and shape (a tuple, so
    that the keys of all tokens flatten into one array in a single pass)."""

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


#: Distinct words a :class:`WordCache` holds before it starts afresh.
WORD_CACHE_LIMIT = 500_000
V = TypeVar("V")


class WordCache(dict[str, V]):
    """Word -> a value computed from the word alone, once per distinct word.

    A model keeps one for its lifetime; it starts afresh past ``limit`` words, so that an
    endless stream of new words cannot grow it without bound (values are pure functions
    of the word, so forgetting them changes no result).
    """

    def __init__(self, compute: Callable[[str], V], limit: int = WORD_CACHE_LIMIT) -> None:
        super().__init__()
        self.compute = compute
        self.limit = limit

    def __missing__(self, word: str) -> V:
        if len(self) >= self.limit:
            self.clear()
        value = self[word] = self.compute(word)
        return value


def _token_keys(word: str) -> _TokenKeys:
    lower = word.lower()
    return _TokenKeys(
        _hash_string("w" + lower),
        _hash_string("p" + lower[:3]),
        _hash_string("s" + lower[-3:]),
        _hash_string("h" + _shape(word)),
    )


class KeyCache(WordCache[_TokenKeys]):
    """Token text -> hashed keys (about 100 MB when full)."""

    def __init__(self) -> None:
        super().__init__(_token_keys)


def _mix(templates: Sequence[int], *keys: np.ndarray) -> np.ndarray:
    """Hash feature templates and their ``[n, templates]`` uint64 key columns into one
    uint64 per token and template."""
    mixed = (np.asarray(templates, dtype=np.uint64) + np.uint64(1)) * _MULTIPLIER
    for key in keys:
        mixed = (mixed ^ key) * _MULTIPLIER
        mixed ^= mixed >> np.uint64(29)
    return mixed


def _neighbours(values: np.ndarray, sentence: np.ndarray, shifts: Sequence[int]) -> np.ndarray:
    """``values`` shifted by each of ``shifts`` tokens (``[n, shifts]``), with an edge
    marker across sentence boundaries."""
    count = len(values)
    shift = np.asarray(shifts)
    index = np.arange(count)[:, None] + shift
    clipped = np.clip(index, 0, count - 1)
    same_sentence = (index == clipped) & (sentence[clipped] == sentence[:, None])
    return np.where(same_sentence, values[clipped], np.where(shift < 0, _LEFT_EDGE, _RIGHT_EDGE))


#: A feature: its template number and the token arrays (integers or booleans) it hashes.
_Feature = tuple[int, tuple[np.ndarray, ...]]


def _hash_features(features: Sequence[_Feature], hash_bits: int) -> np.ndarray:
    """The column of each token and feature. Features with as many keys are hashed together,
    as ``[n, features]`` arrays: the number of numpy calls, not their size, is the cost."""
    hashed = []
    for arity in sorted({len(keys) for _, keys in features}):
        group = [(template, keys) for template, keys in features if len(keys) == arity]
        stacked = (
            np.stack([keys[i] for _, keys in group], axis=1, dtype=np.uint64, casting="unsafe")
            for i in range(arity)
        )
        hashed.append(_mix([template for template, _ in group], *stacked))
    return (np.hstack(hashed) % np.uint64(1 << hash_bits)).astype(np.int64)


def token_feature_columns(
    texts: Sequence[str], words: Sequence[Words], hash_bits: int, cache: KeyCache | None = None
) -> np.ndarray:
    """The hashed binary features of each token as an ``[n, 28]`` array of column indices:
    the word, its shape, its neighbours, its place in the sentence and whether it is inside
    quotes or an exclamation. A column may repeat in a row (the feature then counts twice).

    ``words`` are the tokens of each of ``texts``; their rows follow one another. Texts
    are featurised together because the number of numpy calls, not their size, is the
    cost: no feature looks past its sentence, so texts cannot see each other.
    """
    count = sum(map(len, words))
    if count == 0:
        return np.zeros((0, _COLUMNS_PER_TOKEN), dtype=np.int64)
    cache = cache if cache is not None else KeyCache()
    # map() keeps the per-token passes in C: Python loops over tokens were most of the time.
    tokens = list(chain.from_iterable(text_words.texts for text_words in words))
    keys = np.fromiter(
        chain.from_iterable(map(cache.__getitem__, tokens)), dtype=np.uint64, count=4 * count
    )
    word, prefix, suffix, shape = keys.reshape(count, 4).T
    sentence, on_first_line = _sentence_numbers(texts, words)

    first_of_sentence = np.r_[True, sentence[1:] != sentence[:-1]]
    sentence_begin = np.maximum.accumulate(np.where(first_of_sentence, np.arange(count), 0))
    position = np.arange(count) - sentence_begin
    _, inverse, lengths = np.unique(sentence, return_inverse=True, return_counts=True)
    length = lengths[inverse]
    from_end = length - 1 - position

    is_quote = np.fromiter(map(QUOTES.__contains__, tokens), dtype=np.int64, count=count)
    quotes_before = np.cumsum(is_quote) - is_quote
    inside_quotes = (quotes_before - quotes_before[sentence_begin]) % 2
    exclaims = np.fromiter(map("!".__eq__, tokens), dtype=np.int64, count=count)
    questions = np.fromiter(map("?".__eq__, tokens), dtype=np.int64, count=count)
    sentence_exclaims = np.bincount(inverse, exclaims)[inverse] > 0
    sentence_questions = np.bincount(inverse, questions)[inverse] > 0

    shifts = (-2, -1, 1, 2, *_WIDE_CONTEXT)
    near = dict(zip(shifts, _neighbours(word, sentence, shifts).T, strict=True))
    shape_before, shape_after = _neighbours(shape, sentence, (-1, 1)).T
    features: list[_Feature] = [
        (0, (word,)),
        (1, (prefix,)),
        (2, (suffix,)),
        (3, (shape,)),
        (4, (near[-2],)),
        (5, (near[-1],)),
        (6, (near[1],)),
        (7, (near[2],)),
        (8, (near[-1], word)),
        (9, (word, near[1])),
        (10, (shape_before, shape, shape_after)),
        (11, (np.minimum(position, 5),)),
        (12, (np.minimum(from_end, 5),)),
        (13, (10 * position // np.maximum(length, 1),)),
        (14, (np.minimum(np.log2(length).astype(np.int64), 7),)),
        (15, (inside_quotes, word)),
        (16, (inside_quotes,)),
        (17, (sentence_exclaims,)),
        (18, (sentence_questions,)),
        (19, (on_first_line,)),
    ]
    # A bag of the words 3 to 6 tokens away gives each word its wider context.
    features.extend((20, (near[s],)) for s in _WIDE_CONTEXT)
    return _hash_features(features, hash_bits)


def _sentence_numbers(
    texts: Sequence[str], words: Sequence[Words]
) -> tuple[np.ndarray, np.ndarray]:
    """Each token's sentence, numbered across all texts, and whether it is on its text's
    first line."""
    numbers, first_line, offset = [], [], 0
    for text, text_words in zip(texts, words, strict=True):
        starts = np.asarray(sentence_starts(text))
        numbers.append(np.searchsorted(starts, text_words.starts, side="right") - 1 + offset)
        offset += len(starts)
        first_line.append(text_words.starts < (text.find("\n") if "\n" in text else len(text)))
    return np.concatenate(numbers), np.concatenate(first_line)


def token_features(
    text: str, tokens: Words, hash_bits: int, cache: KeyCache | None = None
) -> sparse.csr_matrix:
    """:func:`token_feature_columns` of one text as a sparse matrix (what training fits)."""
    columns = token_feature_columns([text], [tokens], hash_bits, cache)
    rows = np.repeat(np.arange(len(columns)), columns.shape[1])
    data = np.ones(columns.size, dtype=np.float32)
    matrix = sparse.csr_matrix(
        (data, (rows, columns.ravel())), shape=(len(columns), 1 << hash_bits)
    )
    matrix.sum_duplicates()
    return matrix


def hashed_scores(columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``token_features(...) @ weights`` without building the matrix.

    Each row's weights are added one by one in the matrix's order (ascending column, a
    repeated column once, times its count), so that the float32 sums round exactly as the
    sparse product's do.
    """
    width = columns.shape[1]
    ordered = np.sort(columns, axis=1).ravel()
    first = np.ones(ordered.size, dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    first[::width] = True
    starts = np.flatnonzero(first)
    dtype = np.promote_types(np.float32, weights.dtype)
    values = np.diff(starts, append=ordered.size).astype(dtype) * weights[ordered[starts]]
    scores = np.zeros(len(columns), dtype=dtype)
    np.add.at(scores, starts // width, values)
    return scores


def token_labels(tokens: Words, spans: Iterable[Span], length: int) -> np.ndarray:
    """1 for tokens whose characters are mostly inside a gold span, else 0."""
    inside = np.zeros(length + 1, dtype=np.int64)
    for span in merge_spans(spans):
        inside[span.start] += 1
        inside[min(span.end, length)] -= 1
    covered = np.r_[0, np.cumsum(np.cumsum(inside)[:length] > 0)]
    starts, ends = tokens.starts, tokens.ends
    return ((covered[ends] - covered[starts]) * 2 >= (ends - starts)).astype(np.int64)
