"""Where a decoded span starts and ends: whole words, matched quotation marks, no stray
function word -- the edge rules every model's decoding shares (step 3 of
:mod:`propscan.models.decoding`).

PTC annotators never start or end a span with whitespace or ``.,:;``, almost never cut a
word or end on a function word, rarely mark a lone identity word and never the inside of a
web address; a reader takes a mark that does for a faulty one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterator

from propscan.models.repetition import STOP_WORDS

#: Characters a span never starts or ends with (the PTC v2 annotation convention).
SPAN_EDGE_CHARACTERS = ".,:;"
#: Words PTC annotators almost never end a span with (about 1% of train gold spans do),
#: while a thresholded run often stops on them: "regroup themselves and".
_DANGLING_END_WORDS = """a an and as at because been before being between but by can could
    for from had has have his in into its may might must nor of on or per should than the
    their through to under via was were when where which while who whom whose will with
    within without would"""
DANGLING_END_WORDS = frozenset(_DANGLING_END_WORDS.split())

#: A character of a word: a letter, digit or underscore, or a combining mark, which
#: belongs to the letter before it (a decomposed accent, "e" + U+0301, is one letter).
WORD_CHARACTER = r"[\w\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
_WORD_CHAR = re.compile(WORD_CHARACTER)
_WORD = re.compile(WORD_CHARACTER + "+")
#: Characters that join two words into one where letters stand on both sides: hyphens
#: ("pro-American"), apostrophes ("it's", "nation’s") and slashes ("military/security").
WORD_JOINERS = frozenset("-'\u2019\u2010\u2011/")
#: Characters that join digits into one number: "1,000", "2.2".
NUMBER_JOINERS = frozenset(",.")
#: Quotation marks that open a quote, each with the marks that may close it. A single
#: closing mark (U+2019) is mostly an apostrophe ("nation’s", "users’"), so it closes only
#: a single opening mark ("‘Smear’") and never counts as a quote's end on its own.
QUOTE_PAIRS: dict[str, str] = {
    '"': '"',
    "\u201c": "\u201d\u201c",
    "\u00ab": "\u00bb",
    "\u201e": "\u201c\u201d",
    "\u2018": "\u2019",
}

#: Words that name a people, a nationality, a faith or a skin colour. Marked alone they are
#: almost never propaganda in PTC (the model marks "Muslim" or "British" where a writer
#: only names who is meant), so a span of one such word alone is dropped.
_IDENTITY_WORDS = """african africans american americans arab arabs asian asians black blacks
    british brit brits buddhist buddhists canadian canadians catholic catholics chinese
    christian christians english european europeans french german germans greek greeks
    hindu hindus hispanic hispanics indian indians iranian iranians iraqi iraqis irish
    islamic israeli israelis italian italians japanese jew jewish jews korean koreans latino
    latinos mexican mexicans muslim muslims palestinian palestinians pakistani pakistanis
    protestant protestants russian russians saudi saudis shia shiite shiites sikh sikhs
    spanish sunni sunnis syrian syrians turk turkish turks ukrainian ukrainians white whites
    western westerners"""
IDENTITY_WORDS = frozenset(_IDENTITY_WORDS.split())


def trim_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``start:end`` without whitespace or ``.,:;`` at either end; ``None`` if nothing is left.

    PTC spans never start or end with these; trimming also keeps predicted offsets on
    real characters of the original text.
    """
    while start < end and (text[start].isspace() or text[start] in SPAN_EDGE_CHARACTERS):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in SPAN_EDGE_CHARACTERS):
        end -= 1
    return (start, end) if end > start else None


def has_word_character(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` holds a letter or digit (a span of bare symbols does not)."""
    return any(character.isalnum() for character in text[start:end])


def extend_to_words(text: str, start: int, end: int, joined: bool = False) -> tuple[int, int]:
    """Grow ``start:end`` to whole words so that sub-word decisions never cut a word in two;
    with ``joined``, words joined by a hyphen, an apostrophe or a slash count as one word, and
    so do digits joined by a comma or a point (a number) and single letters joined by points
    (an initialism: "U.S.", "W.H.O.", "U.S.-backed")."""

    def inside(position: int) -> bool:  # whether a word runs on across ``position``
        if 0 < position < len(text) and _is_word(text[position - 1]) and _is_word(text[position]):
            return True
        return (
            joined
            and 0 < position < len(text)
            and (
                (
                    (text[position] in WORD_JOINERS or text[position - 1] in WORD_JOINERS)
                    and _joined_at(text, position)
                )
                or _inside_number(text, position)
                or _inside_initialism(text, position)
            )
        )

    while start > 0 and inside(start):
        start -= 1
    while end < len(text) and inside(end):
        end += 1
    return start, end


def _is_word(character: str) -> bool:
    return bool(_WORD_CHAR.match(character))


def _joined_at(text: str, position: int) -> bool:
    """Whether the boundary before ``position`` lies inside a hyphenated, contracted or
    slash-joined word ("pro|-American", "it'|s", "military|/security")."""
    if text[position] in WORD_JOINERS:  # "pro|-American"
        joiner = position
        joins = (
            position + 1 < len(text)
            and _ends_word(text, position - 1)
            and _is_word(text[position + 1])
        )
    else:  # "it'|s"
        joiner = position - 1
        joins = position > 1 and _ends_word(text, position - 2) and _is_word(text[position])
    return joins and (text[joiner] != "/" or _slash_joins(text, joiner))


def _ends_word(text: str, position: int) -> bool:
    """Whether ``text[position]`` ends a word: a word character, or the closing point of an
    initialism, so that "U.S.-backed" joins as one word."""
    return _is_word(text[position]) or (
        text[position] == "."
        and position > 1
        and text[position - 2] == "."
        and _single_letter(text, position - 1)
    )


def _inside_number(text: str, position: int) -> bool:
    """Whether the boundary before ``position`` lies inside a number: "1|,000", "2.|2"."""
    if text[position] in NUMBER_JOINERS:
        return (
            position + 1 < len(text)
            and text[position - 1].isdigit()
            and text[position + 1].isdigit()
        )
    return (
        position > 1
        and text[position - 1] in NUMBER_JOINERS
        and text[position - 2].isdigit()
        and text[position].isdigit()
    )


def _inside_initialism(text: str, position: int) -> bool:
    """Whether the boundary before ``position`` lies inside an initialism ("U|.S", "W.|H")
    or before the point that joins it to a hyphenated word ("U.S|.-backed")."""
    if not 0 < position < len(text):
        return False
    if text[position] == ".":
        return _initialism_letters(text, position - 1, position + 1) or (
            position + 1 < len(text)
            and text[position + 1] in WORD_JOINERS
            and _joined_at(text, position + 1)  # the point closes "U.S." before "-backed"
        )
    return (
        position > 1
        and text[position - 1] == "."
        and _initialism_letters(text, position - 2, position)
    )


def _initialism_letters(text: str, before: int, after: int) -> bool:
    """Whether the letters around an initialism's point are single letters of one case:
    "U.S" and "e.g" are initialisms, "a.I" (a missing space after a sentence) is not, nor
    is the rare mixed "S.p.A"."""
    return (
        _single_letter(text, before)
        and _single_letter(text, after)
        and text[before].isupper() == text[after].isupper()
    )


def _single_letter(text: str, position: int) -> bool:
    """Whether ``text[position]`` is a letter with no word character on either side."""
    return (
        0 <= position < len(text)
        and text[position].isalpha()
        and (position == 0 or not _is_word(text[position - 1]))
        and (position + 1 == len(text) or not _is_word(text[position + 1]))
    )


def _opens_quote(text: str, position: int) -> bool | None:
    """Whether the mark at ``position`` opens (True) or closes (False) a quotation, or is no
    quotation mark (None); a straight ``"`` opens after a space or at the start."""
    mark = text[position]
    if mark in "\u201c\u00ab\u201e\u2018":
        return True
    if mark in "\u201d\u00bb":
        return False
    if mark == '"':
        return (
            position == 0
            or text[position - 1].isspace()
            or text[position - 1] in "([{-\u2014\u2013"
        )
    return None


def _closes(opener: str, text: str, position: int) -> bool:
    if opener == "\u2018":  # a closing single mark between letters is an apostrophe
        return text[position] == "\u2019" and not (
            _is_word(text[position - 1])
            and position + 1 < len(text)
            and _is_word(text[position + 1])
        )
    return _opens_quote(text, position) is False and text[position] in QUOTE_PAIRS[opener]


def balance_quotes(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``start:end`` with no quotation mark left unmatched at an edge: a quote closed (or
    opened) just outside the span is taken in, any other unmatched mark at an edge dropped
    (an opening mark at the end, a closing mark at the start included); ``None`` when
    nothing is left."""
    while end > start:
        moved = _quote_step(text, start, end)
        if moved is None:
            return start, end
        start, end, dropped = moved
        if dropped:
            found = trim_span(text, start, end)
            if found is None:
                return None
            start, end = found
    return None


def _quote_step(text: str, start: int, end: int) -> tuple[int, int, bool] | None:
    """One move of ``balance_quotes``: the new edges and whether a mark was dropped (the
    span is then trimmed again), or ``None`` when both edges are balanced."""
    if _opens_quote(text, start) is True:
        opener = text[start]
        if not any(_closes(opener, text, i) for i in range(start + 1, end)):
            if end < len(text) and _closes(opener, text, end):
                return start, end + 1, False
            return start + 1, end, True
    if _opens_quote(text, end - 1) is False:
        closer = text[end - 1]
        openers = [o for o, closers in QUOTE_PAIRS.items() if closer in closers]
        if not any(
            _opens_quote(text, i) is True and text[i] in openers for i in range(start, end - 1)
        ):
            if start > 0 and _opens_quote(text, start - 1) is True and text[start - 1] in openers:
                return start - 1, end, False
            return start, end - 1, True
    if (  # "‘|Smear’|": the opening single mark just outside is taken in
        start > 0
        and text[start - 1] == "\u2018"
        and _closes("\u2018", text, end - 1)
        and "\u2018" not in text[start : end - 1]
    ):
        return start - 1, end, False
    # a closing mark first or an opening mark last pairs with nothing inside
    if _opens_quote(text, start) is False:
        return start + 1, end, True
    if _opens_quote(text, end - 1) is True:
        return start, end - 1, True
    return None


def is_lone_identity_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is one word naming a people, nationality, faith or colour."""
    words = _WORD.findall(text[start:end].lower())
    return len(words) == 1 and words[0] in IDENTITY_WORDS


#: A run of characters without a space longer than this is no web address or path to the
#: edge rules (scanning it for every span would cost time on huge texts).
MAX_ADDRESS_CHARACTERS = 500
#: Punctuation around a web address that is not part of it: "(www.x.org).".
_ADDRESS_OPENERS = "([{<\"'\u201c\u2018"
_ADDRESS_CLOSERS = ".,;:!?)]}>\"'\u201d\u2019"
_ADDRESS_START = re.compile(r"[a-z][a-z0-9+.-]*://|www\.", re.IGNORECASE)
#: The spaces that end a web address (each is looked for on its own, quickly).
_SPACES = " \n\t\r\u00a0"
_RUN = re.compile(r"\S+")
_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?::\d+)?", re.IGNORECASE)


def _token_around(text: str, position: int) -> tuple[int, int] | None:
    """The run of characters without a space that holds ``position``; ``None`` past
    :data:`MAX_ADDRESS_CHARACTERS` on either side."""
    low = max(0, position - MAX_ADDRESS_CHARACTERS)
    before = max(text.rfind(space, low, position) for space in _SPACES)
    if before < 0 and low > 0:
        return None
    high = min(len(text), position + MAX_ADDRESS_CHARACTERS + 1)
    after = [found for space in _SPACES if (found := text.find(space, position, high)) >= 0]
    if not after and high < len(text):
        return None
    return before + 1, min(after, default=len(text))


def _without_punctuation(text: str, start: int, end: int) -> str:
    """``text[start:end]`` without the punctuation around it: "(www.x.org)." -> "www.x.org"."""
    while start < end and text[start] in _ADDRESS_OPENERS:
        start += 1
    while end > start and text[end - 1] in _ADDRESS_CLOSERS:
        end -= 1
    return text[start:end]


def is_web_address(token: str) -> bool:
    """Whether ``token`` is a web address: "https://…", "www.…" or a domain and a path
    ("breitbart.com/news/…"), not "U.S./Israeli" or "and/or"."""
    if _ADDRESS_START.match(token):
        return True
    head, slash, _ = token.partition("/")
    return bool(slash) and _DOMAIN.fullmatch(head) is not None


def outside_web_addresses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The pieces of ``start:end`` outside web addresses (and the punctuation around
    them), trimmed, that hold a letter or digit: none when it lies inside one. PTC
    annotators mark no web address (no gold span of train or dev lies inside one), while
    the model may mark the words of a link's path, or a phrase that runs over a link."""
    pieces, piece_start = [], start
    for address_start, address_end in _web_addresses_over(text, start, end):
        if address_start > piece_start:
            pieces.append((piece_start, address_start))
        piece_start = max(piece_start, address_end)
    if end > piece_start:
        pieces.append((piece_start, end))
    trimmed = (trim_span(text, *piece) for piece in pieces)
    return [piece for piece in trimmed if piece is not None and has_word_character(text, *piece)]


def _web_addresses_over(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Every run without spaces that overlaps ``start:end`` and is a web address, whole
    (a run at an edge may go on past it)."""
    for run in _RUN.finditer(text, start, end):
        bounds: tuple[int, int] | None = run.span()
        if run.start() == start or run.end() == end:
            bounds = _token_around(text, run.start())
        if (
            bounds is not None
            and bounds[1] - bounds[0] <= MAX_ADDRESS_CHARACTERS
            and is_web_address(_without_punctuation(text, *bounds))
        ):
            yield bounds


def _slash_joins(text: str, slash: int) -> bool:
    """Whether the slash at ``slash`` joins two words into one ("military/security",
    "and/or", "9/11", "12/05/2020"), not the parts of a web address or a path."""
    token = _token_around(text, slash)
    if token is None:
        return False
    word = _without_punctuation(text, *token)
    if word.count("/") > 1 and not word.replace("/", "").isdigit():  # a path, not a date
        return False
    return not is_web_address(word)


def drop_dangling_end(text: str, start: int, end: int) -> tuple[int, int]:
    """Remove trailing function words ("… agreement and") unless nothing else is left; one
    that ends a hyphenated word ("bought-and-paid-for") is part of that word and stays."""
    words = list(_WORD.finditer(text, start, end))
    while (
        len(words) > 1
        and words[-1].group().lower() in DANGLING_END_WORDS
        and not _joined_at(text, words[-1].start() - 1)
    ):
        words.pop()
        trimmed = trim_span(text, start, words[-1].end())
        if trimmed is None:  # pragma: no cover - a word is left, so is a character
            break
        start, end = trimmed
    return start, end


#: Words that point at the words after them ("every", "our", "the"): a span that ends on
#: one while its phrase runs on ("who has dodged every question") stops halfway through
#: it. About 1% of PTC train gold spans end so. ("her" is left out: "told her" is whole.)
_POINTING_WORDS = """a an the every each no our my your his its their these those this
    such another any some all both either neither few several"""
POINTING_WORDS = frozenset(_POINTING_WORDS.split())
#: Words a phrase grows by at most when it ends on a pointing word: the few words of a
#: noun phrase ("every eligible voter"), not the clause after it.
MAX_PHRASE_WORDS = 2
#: A longer run of letters without a space is no word of English news (unspaced script).
MAX_WORD_CHARACTERS = 25
_NEXT_WORD = re.compile(r"[ \t]+(" + WORD_CHARACTER + "+)")
#: What may follow a word a phrase grows over: the word ends there ("10%" and "Q&A" go on
#: past it).
_AFTER_A_WORD = re.compile(r"\s|$|[,;:!?)\]\"\u201d\u00bb]|[.'\u2019](\s|$|[\"\u201d\u2019)])")
#: Characters that end a sentence, clause or phrase: a pointing word after one starts a
#: new phrase that the span only touches ("They lied again. The", "from Putin, a").
_CLAUSE_BREAK = frozenset(".,!?;:\n")


def complete_phrase_end(
    text: str, start: int, end: int, limit: int | None = None
) -> tuple[int, int]:
    """A span that ends on a word pointing at what follows takes the words it points at.

    "dodged every" becomes "dodged every question": up to :data:`MAX_PHRASE_WORDS` whole
    words on the same line, stopping before punctuation, a function word, another
    pointing word, a word that runs on past a symbol ("10%") or ``limit`` (where the
    next span starts); a pointing word after a comma or a sentence's end inside the span
    starts a phrase of its own and is left alone ("from Putin, a"). A span that ends on
    "that" before a word, which mostly opens a clause ("claims that Democrats", "the
    promise that their vote"), leaves it out instead, unless only function words, or a
    bracket or dash, would be left at its end.
    """
    limit = len(text) if limit is None else limit
    words = list(_WORD.finditer(text, start, end))
    if len(words) < 2 or words[-1].end() != end or not text[words[-1].start() - 1].isspace():
        return start, end
    last = words[-1].group().lower()
    if _CLAUSE_BREAK.intersection(text[words[-2].end() : words[-1].start()]):
        return start, end
    following = _next_word(text, end, limit)
    if last == "that":
        kept = trim_span(text, start, words[-1].start())
        if (
            following is None
            or kept is None
            or not _ends_cleanly(text, kept[1])
            or all(_is_function_word(word.group()) for word in words[:-1])
        ):
            return start, end
        return kept
    if last not in POINTING_WORDS:
        return start, end
    for _ in range(MAX_PHRASE_WORDS):
        if following is None or _is_function_word(text[slice(*following)]):
            break
        end = following[1]
        following = _next_word(text, end, limit)
    return start, end


def complete_phrase_start(
    text: str,
    start: int,
    end: int,
    find_sentence_starts: Callable[[], Container[int]],
    floor: int = 0,
) -> tuple[int, int]:
    """A span that starts on a sentence's second word takes in the first: "no mistake: ..."
    becomes "Make no mistake: ...".

    Only a whole word of at most :data:`MAX_WORD_CHARACTERS` characters that is no
    function word, starts a sentence (``find_sentence_starts`` gives their offsets; it is
    called only for a span that starts after a space and a word), begins at or after
    ``floor`` (where the run before ends) and is joined to the span by a single
    space is taken. Of the PTC train gold spans holding such a second word, 386 start on
    the first word (or before it) and 42 on the second.
    """
    if start < 2 or text[start - 1] != " " or not _is_word(text[start - 2]):
        return start, end
    sentence_starts = find_sentence_starts()
    lowest = max(floor, start - 1 - MAX_WORD_CHARACTERS)  # a longer word is none
    first_start = next((p for p in range(start - 2, lowest - 1, -1) if p in sentence_starts), None)
    if (
        first_start is None
        or extend_to_words(text, first_start, first_start + 1, joined=True)
        != (first_start, start - 1)
        or _is_function_word(text[first_start : start - 1])
    ):
        return start, end
    return first_start, end


def _next_word(text: str, end: int, limit: int) -> tuple[int, int] | None:
    """The whole word after ``end`` on the same line, if it ends by ``limit`` and before a
    space or closing punctuation (not in "10%" or "Q&A")."""
    if end < len(text) and text[end] == "." and _inside_initialism(text, end - 1):
        end += 1  # past the point that closes "U.S." in "every U.S. citizen"
    found = _NEXT_WORD.match(text, end)
    if found is None:
        return None
    word_start, word_end = extend_to_words(text, found.start(1), found.end(1), joined=True)
    if (
        word_end > limit
        or word_end - word_start > MAX_WORD_CHARACTERS
        or not _AFTER_A_WORD.match(text, word_end)
    ):
        return None
    return word_start, word_end


def _ends_cleanly(text: str, end: int) -> bool:
    """Whether a span may end at ``end``: after a word, a closing quotation mark or ")!?"
    (not after an opening bracket or a dash)."""
    last = text[end - 1]
    return _is_word(last) or last in ")!?" or _opens_quote(text, end - 1) is False


def _is_function_word(word: str) -> bool:
    """A stop word, a dangling end word or a pointing word: none begins what a pointing
    word points at."""
    lowered = word.lower()
    return lowered in STOP_WORDS or lowered in DANGLING_END_WORDS or lowered in POINTING_WORDS


def is_lone_stop_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is one stop word ("them", "the") or no word at all."""
    words = _WORD.findall(text[start:end].lower())
    return not words or (len(words) == 1 and words[0] in STOP_WORDS)
