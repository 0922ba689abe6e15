"""Fragments annotators marked in the training articles, found again in a new article.

Propaganda repeats itself from article to article: slogans, epithets and set phrases
("our southern border", "this rigged witch hunt") recur across outlets, and a
window-bound encoder meets each occurrence afresh and misses many of them, most of all
those of rare techniques. A model's memory keeps every fragment of at least
:data:`MIN_WORDS` words marked in the articles it was fitted on, with the technique it
was marked with most and its *precision*: the share of the fragment's occurrences in
those articles that carry that mark. Decoding adds the occurrences of remembered
fragments at least as precise as the tuned ``memory_min_precision``, scored with that
precision. Words are matched whole and case-folded, punctuation between them ignored,
so a match never cuts a word.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from propscan.core.spans import Annotations, Article, Span
from propscan.errors import PropscanError

#: Single words are left to the model: a lone word's meaning depends on its context.
MIN_WORDS = 2
#: The file of a model directory that holds its memory.
MEMORY_FILE = "phrase_memory.json"

_WORD = re.compile(r"\w+")
_END = ""  # the trie key that marks a complete phrase (no word is empty)

Words = tuple[str, ...]


@dataclass(frozen=True)
class Remembered:
    """What the fitted articles say about one fragment."""

    technique: str
    precision: float


def _words(text: str) -> list[tuple[str, int, int]]:
    """Case-folded words of ``text`` with their offsets."""
    return [(m.group().casefold(), m.start(), m.end()) for m in _WORD.finditer(text)]


@dataclass(frozen=True)
class PhraseMemory:
    """Remembered fragments by their case-folded words, matched through a word trie."""

    phrases: Mapping[Words, Remembered]
    _trie: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        trie: dict[str, Any] = {}
        for words in self.phrases:
            node = trie
            for word in words:
                node = node.setdefault(word, {})
            node[_END] = words
        object.__setattr__(self, "_trie", trie)

    def matches(self, text: str) -> Iterator[tuple[Words, int, int]]:
        """Every occurrence of a remembered fragment in ``text``: its words and offsets
        (nested and overlapping occurrences included)."""
        words = _words(text)
        for first in range(len(words)):
            node = self._trie
            for word, _, end in words[first:]:
                node = node.get(word)
                if node is None:
                    break
                if _END in node:
                    yield node[_END], words[first][1], end

    def spans(self, text: str, min_precision: float) -> list[Span]:
        """Occurrences in ``text`` of fragments at least ``min_precision`` precise, labelled
        with their technique and scored with their precision."""
        found = []
        for words, start, end in self.matches(text):
            remembered = self.phrases[words]
            if remembered.precision >= min_precision:
                found.append(Span(start, end, remembered.technique, remembered.precision))
        return found

    @classmethod
    def learn(cls, articles: Sequence[Article], gold: Annotations) -> PhraseMemory:
        """The memory of ``articles``: each marked fragment of :data:`MIN_WORDS` words or
        more, its most frequent technique (ties: the first in name order) and the share
        of its occurrences in ``articles`` marked with it."""
        marked: defaultdict[Words, Counter[str]] = defaultdict(Counter)
        for article in articles:
            for span in gold[article.id]:
                words = tuple(w for w, _, _ in _words(article.text[span.start : span.end]))
                if span.technique is not None and len(words) >= MIN_WORDS:
                    marked[words][span.technique] += 1
        candidates = cls({words: Remembered("", 0.0) for words in marked})
        occurrences = Counter(
            words for article in articles for words, _, _ in candidates.matches(article.text)
        )
        phrases = {}
        for words, techniques in marked.items():
            technique, count = min(techniques.items(), key=lambda item: (-item[1], item[0]))
            precision = count / max(occurrences[words], count)
            phrases[words] = Remembered(technique, round(precision, 4))
        return cls(phrases)

    # -- the model directory's file ------------------------------------------------------
    def save(self, directory: str | os.PathLike[str]) -> Path:
        path = Path(directory) / MEMORY_FILE
        rows = [
            {"words": " ".join(words), "technique": r.technique, "precision": r.precision}
            for words, r in sorted(self.phrases.items())
        ]
        path.write_text(json.dumps({"phrases": rows}, ensure_ascii=False) + "\n", "utf-8")
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> PhraseMemory | None:
        """The memory saved in a model directory (``None`` for a model without one)."""
        path = Path(directory) / MEMORY_FILE
        if not path.is_file():
            return None
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))["phrases"]
            phrases = {
                tuple(row["words"].split(" ")): Remembered(
                    str(row["technique"]), float(row["precision"])
                )
                for row in rows
            }
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as error:
            raise PropscanError(
                f"{path}: not a phrase memory ({error!r}); train the model again or delete "
                "the file to analyse without it"
            ) from None
        return cls(phrases)
