"""Sentence splitting that keeps every sentence's character offsets into the original text.

PTC articles hold one sentence per line, but pasted or downloaded text often has whole
paragraphs on one line, so lines are split further after sentence-ending punctuation.

:func:`split_sentences` is the splitter for everything people see (sentence scores,
rows of the article view). :func:`sentence_starts` is the coarser rule that the
classical model's features were trained with; it lives here so that both rules are
read side by side, and it stays as it is because the shipped weights depend on it.
The functions at the end map tokens and spans onto sentences, for every caller alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from propscan.core.spans import Span

#: Every line boundary ``str.splitlines`` knows; ``\r\n`` counts as one.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")

#: Line boundaries other than ``\n``, and not a ``\r`` that a ``\n`` follows.
_OTHER_LINE_BREAK = re.compile(r"\r(?!\n)|[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def with_newlines(text: str) -> str:
    """``text`` with every line boundary ``str.splitlines`` knows written as ``\n``,
    character for character, so offsets into it index ``text`` too.

    Models and phrase rules read ``\n`` as the end of a line; a text whose lines end in a
    bare ``\r`` (old Mac files) or U+2028 (some web pages) would otherwise be read as one
    long line, its phrases joined across paragraphs. ``\r\n`` keeps its ``\r``.
    """
    return _OTHER_LINE_BREAK.sub("\n", text)


#: Sentence-ending punctuation, then any closing quotes or brackets, then whitespace. A
#: match starts only where a run of punctuation starts: tried inside a long run with no
#: whitespace after it, the pattern would rescan the run from every position (quadratic).
_SENTENCE_END = re.compile(r"(?<![.!?\u2026])[.!?\u2026]+[\"'\u2019\u201d\u00bb)\]]*(?=\s)")

_OPENING = "\"'\u2018\u201c\u00ab([-\u2014"

#: Lower-cased abbreviations (without the final period) that rarely end a sentence.
ABBREVIATIONS: frozenset[str] = frozenset(
    {
        # titles and ranks
        "mr", "mrs", "ms", "messrs", "dr", "prof", "sr", "jr", "st", "rev", "hon", "pres",
        "gov", "sen", "rep", "gen", "col", "lt", "sgt", "capt", "cmdr", "adm", "maj", "cpl",
        "pvt", "supt", "insp", "amb", "fr", "atty", "mt", "ft",
        # organisations, Latin and weekdays that are no English words
        "dept", "univ", "assn", "bros", "inc", "corp", "co", "ltd",
        "vs", "cf", "al", "e.g", "i.e", "viz", "ca", "tue", "tues", "thu", "thur", "thurs", "fri",
    }
)  # fmt: skip

#: Abbreviations that are also words ("no", "art"): abbreviations only before a number.
NUMBER_ABBREVIATIONS: frozenset[str] = frozenset(
    {
        "no", "nos", "vol", "vols", "pp", "fig", "figs", "ch", "art", "sec", "para", "approx",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    }
)  # fmt: skip

#: The feature rule: after ``.!?`` and closing quotes, before an optional opening quote
#: and an ASCII capital or digit; no abbreviation exceptions.
_FEATURE_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])")

#: Initials and dotted acronyms: ``J``, ``U.S``, ``U.N``, ``D.C``.
_INITIALS = re.compile(r"^(?:[a-z]\.)*[a-z]$")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` offsets of the sentences of ``text``, in order and trimmed of whitespace.

    Splits on line breaks and after ``.``, ``!``, ``?`` or ``…`` (plus closing quotes)
    when whitespace and an upper-case letter, a digit or an opening quote follow, except
    after common abbreviations and initials. Only whitespace is left out of the sentences.
    """
    sentences: list[tuple[int, int]] = []
    line_start = 0
    for line_break in _LINE_BREAK.finditer(text):
        sentences.extend(_split_line(text, line_start, line_break.start()))
        line_start = line_break.end()
    sentences.extend(_split_line(text, line_start, len(text)))
    return sentences


def split_sentence_starts(text: str) -> frozenset[int]:
    """Where the sentences of :func:`split_sentences` start (not the coarser feature rule
    of :func:`sentence_starts`)."""
    return frozenset(start for start, _ in split_sentences(text))


def _split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    piece_start = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if _ends_sentence(text, match, end):
            pieces.append((piece_start, match.end()))
            piece_start = match.end()
    pieces.append((piece_start, end))
    return [trimmed for piece in pieces if (trimmed := _trim(text, *piece)) is not None]


def _ends_sentence(text: str, match: re.Match[str], line_end: int) -> bool:
    """Whether the punctuation in ``match`` closes a sentence rather than an abbreviation."""
    following = match.end()
    while following < line_end and text[following].isspace():
        following += 1
    if following == line_end:
        return False  # the line ends here anyway
    next_char = text[following]
    if not (next_char.isupper() or next_char.isdigit() or next_char in _OPENING):
        return False
    if match.group() == ".":
        word = _word_before(text, match.start()).lower()
        if word in NUMBER_ABBREVIATIONS:
            return not next_char.isdigit()
        return word not in ABBREVIATIONS and _INITIALS.match(word) is None
    return True


def _word_before(text: str, position: int) -> str:
    """The run of non-space characters ending at ``position``, without opening punctuation."""
    start = position
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:position].lstrip(_OPENING)


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def sentence_starts(text: str) -> list[int]:
    """Start offsets of sentences as the classical model's features see them.

    Every ``\\n``-separated line starts a sentence, and a line is cut further after
    ``.!?`` before a capital letter or a digit.
    """
    starts = []
    offset = 0
    for line in text.split("\n"):
        starts.append(offset)
        starts.extend(offset + m.end() for m in _FEATURE_SENTENCE_BREAK.finditer(line))
        offset += len(line) + 1
    return starts


def sections(text: str, max_chars: int) -> list[tuple[int, int]]:
    """``text`` cut into consecutive ``[start, end)`` pieces of at most ``max_chars``.

    Long inputs are analysed a section at a time so that memory stays bounded whatever
    their length. A cut falls after the last line break of the second half of a piece,
    else after its last space, else at ``max_chars`` itself, so phrases are rarely cut.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    bounds = []
    start = 0
    while len(text) - start > max_chars:
        limit = start + max_chars
        middle = start + max_chars // 2
        cut = text.rfind("\n", middle, limit) + 1 or text.rfind(" ", middle, limit) + 1 or limit
        bounds.append((start, cut))
        start = cut
    if start < len(text) or not bounds:
        bounds.append((start, len(text)))
    return bounds


# --- tokens and spans onto sentences ------------------------------------------------------


def sentence_at(sentence_starts: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Index of the last sentence starting at or before each position (0 before the first).

    ``sentence_starts`` are ascending; a position between two sentences belongs to the
    earlier one.
    """
    return np.clip(np.searchsorted(sentence_starts, positions, side="right") - 1, 0, None)


def sentence_ranges(
    bounds: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sentences ``[first, last)`` sharing a character with each range ``[start, end)``.

    ``bounds`` is ``[n, 2]``, sorted and non-overlapping, as :func:`split_sentences` gives;
    a range over no sentence has ``last <= first``. Binary searches: O(log n) per range.
    """
    if not len(bounds):
        empty = np.zeros(len(starts), dtype=np.int64)
        return empty, empty
    first = sentence_at(bounds[:, 0], starts)
    first = first + (starts >= bounds[first, 1])  # a range starting after its sentence ended
    last = np.searchsorted(bounds[:, 0], ends, side="left")
    return first, last


def sentences_with_spans(bounds: Sequence[tuple[int, int]], spans: Iterable[Span]) -> np.ndarray:
    """Whether each sentence shares a character with one of ``spans`` (bool ``[n]``)."""
    bounds_array = np.asarray(bounds, dtype=np.int64).reshape(-1, 2)
    edges = np.asarray([(span.start, span.end) for span in spans], dtype=np.int64).reshape(-1, 2)
    first, last = sentence_ranges(bounds_array, edges[:, 0], edges[:, 1])
    marks = np.zeros(len(bounds_array) + 1, dtype=np.int64)
    covering = last > first
    np.add.at(marks, first[covering], 1)
    np.add.at(marks, last[covering], -1)
    return np.cumsum(marks[:-1]) > 0
