"""The text a model reads, and the way back from its offsets to the article's.

The same words reach propscan in different Unicode forms: ``Viganò`` as one letter or as
``o`` and a combining grave accent (text copied from PDFs and some web pages). Models
read every article composed (NFC) with its line ends written as ``\\n``, so that both
forms get the same marks; their offsets are then mapped back onto the text as given.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from propscan.core.sentences import with_newlines
from propscan.core.spans import Span


@dataclass(frozen=True, eq=False)
class ModelText:
    """``text`` as the model reads it; ``starts[i]`` and ``ends[i]`` are where its
    position ``i`` starts and ends a character run in the original (``None``: the same
    offsets)."""

    text: str
    starts: np.ndarray | None = None  # int64 [len(text) + 1]
    ends: np.ndarray | None = None  # int64 [len(text) + 1]

    def original_offsets(self, offsets: np.ndarray) -> np.ndarray:
        """``[n, 2]`` start/end offsets into :attr:`text` as offsets into the original."""
        if self.starts is None or self.ends is None or not len(offsets):
            return offsets
        return np.stack([self.starts[offsets[:, 0]], self.ends[offsets[:, 1]]], axis=1)

    def original_span(self, span: Span) -> Span:
        if self.starts is None or self.ends is None:
            return span
        return replace(span, start=int(self.starts[span.start]), end=int(self.ends[span.end]))


def model_text(text: str) -> ModelText:
    """What a model reads of ``text``: composed (NFC), one ``\\n`` per line end."""
    text = with_newlines(text)
    if unicodedata.is_normalized("NFC", text):
        return ModelText(text)
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = [0]
    cluster_start = 0
    # A letter and what composes with it after it are composed together; each character of
    # the result maps to the whole run, so a span never starts or ends inside it.
    joining = _joins_the_character_before()
    for position in range(1, len(text) + 1):
        if position < len(text) and (
            unicodedata.combining(text[position]) or text[position] in joining
        ):
            continue
        composed = unicodedata.normalize("NFC", text[cluster_start:position])
        pieces.append(composed)
        starts.extend([cluster_start] * len(composed))
        ends.extend([position] * len(composed))
        cluster_start = position
    starts.append(len(text))
    return ModelText(
        "".join(pieces), np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    )


@cache
def _joins_the_character_before() -> frozenset[str]:
    """Characters other than combining marks that NFC may compose with the character
    before them: Korean vowel and final letters (U+1161..U+1175, U+11A8..U+11C2), and the
    second parts of two-part vowel signs (Tamil U+0BBE, Bengali U+09D7, ...), read from
    the Unicode database of this Python."""
    found = {chr(code) for code in (*range(0x1161, 0x1176), *range(0x11A8, 0x11C3))}
    for code in range(0x20000):  # every such composition lies below U+20000
        character = chr(code)
        parts = unicodedata.decomposition(character).split()
        if len(parts) != 2 or parts[0].startswith("<"):
            continue  # no canonical pair (or a compatibility one)
        if unicodedata.normalize("NFC", character) != character:
            continue  # excluded from composition: NFC never makes it
        second = chr(int(parts[1], 16))
        if not unicodedata.combining(second):
            found.add(second)
    return frozenset(found)
