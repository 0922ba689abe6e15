"""Sub-word tokenisation with character offsets, and overlapping windows over long articles.

Shared by training (torch) and inference (onnxruntime), so both see exactly the same
tokens. Only ``tokenizers`` and numpy are needed here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from propscan.core.spans import Span
from propscan.errors import PropscanError


@dataclass(frozen=True)
class TokenizedText:
    """Word pieces of one text, without special tokens; ``offsets[i]`` = ``(start, end)``."""

    ids: np.ndarray  # int64 [n]
    offsets: np.ndarray  # int64 [n, 2]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Window:
    """Tokens ``[start, end)`` of a tokenised text that one encoder pass sees."""

    start: int
    end: int


def load_tokenizer(directory: str | os.PathLike[str]) -> Tokenizer:
    """The fast tokenizer of a Hugging Face model directory (``tokenizer.json``)."""
    path = Path(directory) / "tokenizer.json"
    if not path.is_file():
        raise PropscanError(
            f"{directory}: no tokenizer.json; give a Hugging Face model directory "
            "with a fast tokenizer"
        )
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def special_token_ids(tokenizer: Tokenizer | Any) -> dict[str, int]:
    """[CLS]/[SEP]/[PAD] ids (or RoBERTa's <s>/</s>/<pad>) of a tokenizer."""
    ids: dict[str, int] = {}
    for role, candidates in {
        "cls": ("[CLS]", "<s>"),
        "sep": ("[SEP]", "</s>"),
        "pad": ("[PAD]", "<pad>"),
    }.items():
        found = [tokenizer.token_to_id(token) for token in candidates]
        present = [i for i in found if i is not None]
        if not present:
            raise PropscanError(f"the tokenizer has no {role} token ({' or '.join(candidates)})")
        ids[role] = present[0]
    return ids


def tokenize(tokenizer: Tokenizer, texts: Sequence[str]) -> list[TokenizedText]:
    """Tokenise texts; empty tokens (zero-width offsets) are dropped so every token has text."""
    results = []
    for encoding in tokenizer.encode_batch(list(texts), add_special_tokens=False):
        pairs = chain.from_iterable(encoding.offsets)  # flattened in C: no tuple per token
        offsets = np.fromiter(pairs, dtype=np.int64, count=2 * len(encoding)).reshape(-1, 2)
        ids = np.asarray(encoding.ids, dtype=np.int64)
        keep = offsets[:, 1] > offsets[:, 0]
        results.append(TokenizedText(ids=ids[keep], offsets=offsets[keep]))
    return results


def make_windows(n_tokens: int, size: int, stride: int) -> list[Window]:
    """Windows of at most ``size`` tokens every ``stride`` tokens, the last flush with the end."""
    if size <= 0 or stride <= 0 or stride > size:
        raise ValueError(f"need 0 < stride <= size, got size={size} stride={stride}")
    if n_tokens <= size:
        return [Window(0, n_tokens)] if n_tokens else []
    starts = [*range(0, n_tokens - size, stride), n_tokens - size]
    return [Window(start, start + size) for start in starts]


def token_ranges(offsets: np.ndarray, spans: Sequence[Span]) -> tuple[np.ndarray, np.ndarray]:
    """Tokens ``[first, last)`` overlapping each character span, as two arrays; no token
    overlaps a span where ``last <= first``.

    Tokens are in text order and do not overlap, so two binary searches find them in
    O(log n): a long article's thousands of spans never rescan its token array.
    """
    bounds = np.asarray([(span.start, span.end) for span in spans], dtype=np.int64).reshape(-1, 2)
    first = np.searchsorted(offsets[:, 1], bounds[:, 0], side="right")
    last = np.searchsorted(offsets[:, 0], bounds[:, 1], side="left")
    return first, last


def token_range(offsets: np.ndarray, span: Span) -> tuple[int, int] | None:
    """:func:`token_ranges` of one span, or None when no token overlaps it."""
    (first,), (last,) = token_ranges(offsets, [span])
    return (int(first), int(last)) if last > first else None


def batch_windows(
    ids: Sequence[np.ndarray], cls_id: int, sep_id: int, pad_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pad windows of token ids into ``input_ids`` and ``attention_mask`` with [CLS] ... [SEP]."""
    width = max(len(window) for window in ids) + 2
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, window in enumerate(ids):
        n = len(window)
        input_ids[row, 0] = cls_id
        input_ids[row, 1 : n + 1] = window
        input_ids[row, n + 1] = sep_id
        mask[row, : n + 2] = 1
    return input_ids, mask
