"""How often a fragment recurs in its article, counted over whole content words.

Repetition is a document-level technique that a window-bound encoder cannot see, so
the span classifiers get the count as a feature and decoding uses it as a rule. Counts
are over whole words with stop words ignored ("pro" never counts inside "provides",
"the union" and "union" recur together), and an article is indexed once so that every
query costs O(fragment + log article), keeping analysis linear in article length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

#: Function words that carry no content of their own; ignored when matching fragments.
_STOP_WORDS = """a about above after again against all am an and any are as at be been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into
    is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your
    yours yourself yourselves s t"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

#: Fragments longer than this many content words are matched on their first ones only.
MAX_MATCHED_WORDS = 32

_WORD = re.compile(r"\w+")
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class RepetitionIndex:
    """Content words of one article with their offsets, and n-gram hashes made on demand."""

    starts: np.ndarray  # int64 [n], start offset of each content word
    ids: np.ndarray  # uint64 [n], one id per distinct lower-cased word
    _sorted_hashes: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _hashes: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, text: str) -> RepetitionIndex:
        vocabulary: dict[str, int] = {}
        starts, ids = [], []
        for match in _WORD.finditer(text):
            word = match.group().lower()
            if word in STOP_WORDS:
                continue
            starts.append(match.start())
            ids.append(vocabulary.setdefault(word, len(vocabulary) + 1))
        return cls(np.asarray(starts, dtype=np.int64), np.asarray(ids, dtype=np.uint64))

    def shifted(self, offset: int) -> RepetitionIndex:
        """The same index for a section of the article that starts at ``offset``: queries
        take offsets into the section and still count over the whole article."""
        return RepetitionIndex(self.starts - offset, self.ids, self._sorted_hashes, self._hashes)

    def _hashes_of_length(self, n: int) -> np.ndarray:
        """Hash of every run of ``n`` consecutive content words (built from length n-1)."""
        if n not in self._hashes:
            if n == 1:
                self._hashes[1] = self.ids.copy()
            else:
                shorter = self._hashes_of_length(n - 1)[:-1]
                with np.errstate(over="ignore"):
                    self._hashes[n] = shorter * _MULTIPLIER + self.ids[n - 1 :]
            self._sorted_hashes[n] = np.sort(self._hashes[n])
        return self._hashes[n]

    def occurrences(self, start: int, end: int) -> int:
        """Times the content words of ``[start, end)`` occur in the article (0 if none)."""
        first, last = (int(i) for i in np.searchsorted(self.starts, (start, end)))
        n = min(last - first, MAX_MATCHED_WORDS)
        if n <= 0:
            return 0
        key = self._hashes_of_length(n)[first]
        ordered = self._sorted_hashes[n]
        return int(
            np.searchsorted(ordered, key, side="right") - np.searchsorted(ordered, key, side="left")
        )

    def repeats(self, start: int, end: int) -> int:
        """Occurrences of the fragment elsewhere in the article."""
        return max(self.occurrences(start, end) - 1, 0)
