"""Direct quotations in an article and whose words they are.

News propaganda often sits inside quotes from officials rather than in the outlet's own
voice, so every view can say of a span whether it lies in a quotation and, where the
text says so, whose. No maintained library does this offline (textacy's direct-quotation
extraction needs a spaCy English pipeline, which PyPI does not carry), so this is a small
rule set, run in one pass over the quotation marks of the text:

1. **marks** -- straight, curly and low double quotes and guillemets pair up first; single
   quotes (``'``, ``‘’``, ``‹›``) pair up only outside them, as a quotation inside a
   quotation belongs to the outer speaker. Whether a mark opens or closes is read from its
   neighbours (an opening mark has space before it and text after it), so ``it's``,
   ``dogs'`` and ``'90s`` are apostrophes, not quotes;
2. **paragraphs** -- a quotation runs across sentences and lines until its closing mark;
   one still open at a paragraph's end continues when the next paragraph opens with a
   quotation mark (the typographic convention of re-opening a quote at each paragraph),
   else it ends with its paragraph. An unclosed single quote is an apostrophe after all;
3. **speakers** -- "..., the ministry said", "..., said X", "X said: ...", "X told
   reporters that ...", "according to X", "X, the minister, warned that ..."; a quotation
   that opens its sentence after "X said:" or right after X's previous quotation is X's
   too, and "he" or "she" is the latest named speaker before it;
4. **voices** -- a short quoted phrase that nobody is said to have spoken (a scare quote,
   a title: ``a "leftist" pope``) is the writer's own voice, so it is no quotation here.

Offsets are Python ``[start, end)`` character indices into the text: a quotation covers
its marks (``text[start]`` is its opening mark), and ``text[speaker_start:speaker_end]``
is the speaker's name as written. The cost is linear in the length of the text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from propscan.core.sentences import split_sentences
from propscan.core.speakers import (
    Speaker,
    is_person_pronoun,
    is_pronoun,
    named_after,
    named_before,
)


@dataclass(frozen=True, slots=True)
class Quote:
    """A direct quotation ``text[start:end]`` (marks included) and who is said to speak it.

    ``speaker`` is ``text[speaker_start:speaker_end]``; all three are ``None`` when the
    text does not say whose words these are.
    """

    start: int
    end: int
    speaker: str | None = None
    speaker_start: int | None = None
    speaker_end: int | None = None


#: Unattributed quoted phrases shorter than this many words are the writer's own voice.
MIN_UNATTRIBUTED_WORDS = 4
#: "He" or "she" stands for the speaker of the quotation before when it ended at most
#: this many characters earlier.
PRONOUN_REACH = 400

_DOUBLE = '"\u201c\u201d\u201e\u201f\u00ab\u00bb'
_SINGLE = "'\u2018\u2019\u201a\u201b\u2039\u203a"
_OPENING = "\u201c\u201e\u201f\u00ab\u2018\u201a\u201b\u2039"
_CLOSING = "\u201d\u00bb\u2019\u203a"
_MARKS = re.compile(f"[{re.escape(_DOUBLE + _SINGLE)}]")
#: What may stand before an opening mark besides whitespace, and after a closing one.
_BEFORE_OPENING = "([{\u2014\u2013-/" + _DOUBLE + _SINGLE
_AFTER_CLOSING = ".,;:!?)]}\u2014\u2013-\u2026/" + _DOUBLE + _SINGLE
_PUNCTUATION = ".,;:!?)]}\u2026"
#: Elisions that start with an apostrophe: 'em, 'tis, 'til, 'cause, 'n', '90s.
_ELISION = re.compile(r"(?i)(?:em|tis|twas|til|cause|n|\d\d)\b")

_WORD = re.compile(r"\w+")

# --- 1. marks --------------------------------------------------------------------------


class _Role(Enum):
    OPEN = "open"
    CLOSE = "close"
    EITHER = "either"  # a straight double quote between two spaces or two words
    NONE = "none"  # an apostrophe, or a mark that opens and closes nothing


def _role(text: str, position: int) -> _Role:
    """Whether the mark at ``position`` opens or closes a quotation, read from its neighbours."""
    mark = text[position]
    before = text[position - 1] if position > 0 else " "
    after = text[position + 1] if position + 1 < len(text) else " "
    opens = not (after.isspace() or after in _PUNCTUATION) and (
        before.isspace() or before in _BEFORE_OPENING
    )
    closes = not (before.isspace() or before in "([{") and (
        after.isspace() or after in _AFTER_CLOSING
    )
    single = mark in _SINGLE
    if single and before.isalnum() and after.isalnum():
        return _Role.NONE  # it's, O'Brien
    if opens and not closes:
        if single and _ELISION.match(text, position + 1):
            return _Role.NONE  # 'em, '90s
        return _Role.OPEN
    if closes and not opens:
        return _Role.CLOSE
    if mark in _OPENING:
        return _Role.OPEN
    if mark in _CLOSING:
        return _Role.CLOSE
    return _Role.NONE if single else _Role.EITHER


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of each paragraph, trimmed of whitespace.

    Paragraphs are separated by blank lines in a text that has any (PTC articles, one
    sentence per line); otherwise every line is a paragraph (extracted web pages).
    """
    separator = r"\n[ \t\r\f\v]*\n\s*" if re.search(r"\n[ \t\r\f\v]*\n", text) else r"[\r\n]+"
    bounds = []
    start = 0
    for match in re.finditer(separator, text):
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(text)))
    trimmed = []
    for first, last in bounds:
        piece = text[first:last]
        left = first + len(piece) - len(piece.lstrip())
        right = last - (len(piece) - len(piece.rstrip()))
        if left < right:
            trimmed.append((left, right))
    return trimmed


def _pair_marks(
    text: str,
    marks: Sequence[tuple[int, _Role]],
    paragraphs: Sequence[tuple[int, int]],
    keep_unclosed: bool,
) -> list[tuple[int, int]]:
    """``[start, end)`` of the quotations the ``marks`` of one family (double or single) make.

    A quotation still open at its paragraph's end continues where the next paragraph
    begins with an opening mark, else it ends there (or is dropped, unless
    ``keep_unclosed``).
    """
    starts = [start for start, _ in paragraphs]
    found: list[tuple[int, int]] = []
    opened: int | None = None
    open_paragraph = 0

    def unclosed() -> None:
        if keep_unclosed and opened is not None:
            found.append((opened, paragraphs[open_paragraph][1]))

    for position, role in marks:
        paragraph = bisect.bisect_right(starts, position) - 1
        if opened is not None and paragraph != open_paragraph:
            reopens = paragraph == open_paragraph + 1 and position == starts[paragraph]
            if reopens and role in (_Role.OPEN, _Role.EITHER):
                open_paragraph = paragraph
                continue
            unclosed()
            opened = None
        if opened is None:
            if role in (_Role.OPEN, _Role.EITHER):
                opened, open_paragraph = position, paragraph
        elif role in (_Role.CLOSE, _Role.EITHER):
            found.append((opened, position + 1))
            opened = None
        elif role is _Role.OPEN:  # the last quotation was never closed
            end = len(text[opened:position].rstrip()) + opened
            if keep_unclosed and end > opened + 1:
                found.append((opened, end))
            opened = position
    unclosed()
    return found


def _quotation_ranges(text: str, paragraphs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Every quotation in text order: double-quoted ones, then single-quoted ones outside
    them (a single-quoted pair around a double-quoted quotation is left out, so that
    quotations never overlap)."""
    double: list[tuple[int, _Role]] = []
    single: list[tuple[int, _Role]] = []
    for match in _MARKS.finditer(text):
        position = match.start()
        role = _role(text, position)
        if role is not _Role.NONE:
            (double if text[position] in _DOUBLE else single).append((position, role))
    outer = _pair_marks(text, double, paragraphs, keep_unclosed=True)
    outer_starts = [start for start, _ in outer]
    outside = []
    for position, role in single:
        index = bisect.bisect_right(outer_starts, position) - 1
        if index < 0 or outer[index][1] <= position:
            outside.append((position, role))
    inner = [
        (start, end)
        for start, end in _pair_marks(text, outside, paragraphs, keep_unclosed=False)
        if not _encloses_one_of(outer, outer_starts, start, end)
    ]
    return sorted(outer + inner)


def _encloses_one_of(
    ranges: Sequence[tuple[int, int]], starts: Sequence[int], start: int, end: int
) -> bool:
    """Whether ``[start, end)``, whose ends lie outside every one of the sorted, disjoint
    ``ranges``, holds one of them (single marks around a double-quoted quotation)."""
    index = bisect.bisect_left(starts, start)
    return index < len(ranges) and ranges[index][0] < end


# --- 2. putting it together ------------------------------------------------------------


def find_quotes(text: str) -> tuple[Quote, ...]:
    """The direct quotations of ``text`` in order, each with its speaker where the text names one.

    Quotations never overlap. An unattributed quoted phrase of fewer than
    :data:`MIN_UNATTRIBUTED_WORDS` words (a scare quote, a title) is the writer's own
    voice and is left out.
    """
    paragraphs = _paragraphs(text)
    ranges = _quotation_ranges(text, paragraphs) if paragraphs else []
    if not ranges:
        return ()
    paragraph_starts = [start for start, _ in paragraphs]
    sentences = split_sentences(text)
    sentence_starts = [start for start, _ in sentences]

    def sentence_of(position: int) -> int:
        return max(bisect.bisect_right(sentence_starts, position) - 1, 0)

    found: list[Quote] = []
    previous: _Previous | None = None
    for start, end in ranges:
        index = sentence_of(start)
        paragraph = bisect.bisect_right(paragraph_starts, start) - 1
        # The quotation before, when it ended in this same sentence.
        before = previous if previous is not None and previous.sentence == index else None
        first = max(sentences[index][0], before.end) if before is not None else sentences[index][0]
        speaker = named_before(text, first, start, before.speaker if before is not None else None)
        if speaker is None:
            speaker = named_after(text, end, max(sentences[sentence_of(end - 1)][1], end))
        unnamed = speaker is None or is_person_pronoun(text[speaker.start : speaker.end])
        if unnamed and index and _WORD.search(text, first, start) is None:
            carried = _carried_over(text, sentences[index - 1], previous, index, paragraph)
            speaker = carried or speaker
        speaker = _resolve(text, speaker, found[-1] if found else None, start)
        quote = _quote(text, start, end, speaker)
        if quote is None:
            continue
        found.append(quote)
        previous = _Previous(sentence_of(end - 1), end, paragraph, speaker)
    return tuple(found)


class _Previous(NamedTuple):
    """The last quotation found: the sentence it ends in, its end, paragraph and speaker."""

    sentence: int
    end: int
    paragraph: int
    speaker: Speaker | None


def _carried_over(
    text: str,
    sentence_before: tuple[int, int],
    previous: _Previous | None,
    index: int,
    paragraph: int,
) -> Speaker | None:
    """The speaker of a quotation that opens sentence ``index``: named at the end of the
    sentence before ("He added:"), or the speaker of the quotation that ended there or in
    this sentence, in the same paragraph ("“A,” she said. “B.”")."""
    first, last = sentence_before
    if text[first:last].rstrip().endswith(":"):
        named = named_before(text, first, last, None)
        if named is not None:
            return named
    if previous is not None and previous.sentence >= index - 1 and previous.paragraph == paragraph:
        return previous.speaker
    return None


def _resolve(
    text: str, speaker: Speaker | None, before: Quote | None, start: int
) -> Speaker | None:
    """ "He" or "she" as the named speaker of the quotation ``before``, when it ended at
    most :data:`PRONOUN_REACH` characters before ``start``."""
    if speaker is None or not is_person_pronoun(text[speaker.start : speaker.end]):
        return speaker
    if before is None or before.speaker is None or is_pronoun(before.speaker):
        return speaker
    if start - before.end > PRONOUN_REACH:
        return speaker
    assert before.speaker_start is not None and before.speaker_end is not None
    return Speaker(before.speaker_start, before.speaker_end)


def _quote(text: str, start: int, end: int, speaker: Speaker | None) -> Quote | None:
    if speaker is None:
        if len(_WORD.findall(text, start, end)) < MIN_UNATTRIBUTED_WORDS:
            return None
        return Quote(start, end)
    return Quote(start, end, text[speaker.start : speaker.end], speaker.start, speaker.end)


def quote_of(quotes: Sequence[Quote], start: int, end: int) -> Quote | None:
    """The quotation that holds most of ``text[start:end]`` (at least half of it), else
    ``None``: the span is in the outlet's own voice. ``quotes`` are :func:`find_quotes`'s
    (in order, not overlapping), so a binary search finds those the span touches."""
    index = bisect.bisect_right(quotes, max(end - 1, start), key=_start) - 1
    best: Quote | None = None
    best_overlap = 0
    while index >= 0 and quotes[index].end > start:
        quote = quotes[index]
        overlap = min(end, quote.end) - max(start, quote.start)
        if overlap > best_overlap:
            best, best_overlap = quote, overlap
        index -= 1
    return best if 2 * best_overlap >= end - start else None


def _start(quote: Quote) -> int:
    return quote.start


def quotes_of(quotes: Sequence[Quote], spans: Iterable[tuple[int, int]]) -> list[Quote | None]:
    """:func:`quote_of` for each ``(start, end)`` of ``spans``: their voices, in order."""
    return [quote_of(quotes, start, end) for start, end in spans]
