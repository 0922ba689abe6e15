"""Who speaks a quotation: the rules that read a speaker's name around its quotation marks.

:func:`propscan.core.quotes.find_quotes` pairs the marks; the rules here read the words
of the same sentence, as news writing names a speaker in a few fixed ways: "...," the
ministry said / said X / X told reporters; X said: "..." / X said that "..." /
according to X; X, the minister, warned that "..."; "A" and, X said, "B". A name is a
run of words without a function word ("that", "was", "in") that ends at a determiner
("the source") or is a pronoun ("he"); "of", "in" and the like may link capitalised
parts of a name ("Secretary of State Mike Pompeo"). Offsets are Python character
indices into the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from propscan.core.sentences import ABBREVIATIONS

#: Words a speech verb may stand before its quotation ("told the Free Beacon that").
MAX_WORDS_VERB_TO_QUOTE = 12
#: Words of a speaker's name or description at most ("an unnamed U.S. official").
MAX_SPEAKER_WORDS = 8

#: A word ("U.S.", "Iran’s", "Freeman-Wilson") or one punctuation character.
_TOKEN = re.compile(r"(?:\w\.){2,}|\w+(?:[\u2019'\-]\w+)*\.?|[^\w\s]")
_INITIALS = re.compile(r"(?:\w\.){2,}")
#: Words that keep their period: the splitter's abbreviations and "Mr.", "Ms." ...
_ABBREVIATIONS = ABBREVIATIONS | {"mr", "mrs", "ms", "dr"}
_QUOTE_MARKS = "\"'\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Speech verbs; an -s form that is as often a noun ("claims", "notes", "calls") is left out.
_SPEECH_VERBS = _words(
    """say says said tell tells told add adds added state stated write writes wrote claim
    claimed insist insists insisted argue argues argued warn warns warned explain explains
    explained note noted declare declares declared announce announces announced ask asks
    asked reply replied respond responds responded continue continued conclude concludes
    concluded recall recalled admit admits admitted tweet tweeted post posted remark
    remarked suggest suggests suggested acknowledge acknowledges acknowledged comment
    commented observe observes observed complain complains complained urge urges urged
    call called describe describes described testify testifies testified allege alleges
    alleged maintain maintains maintained contend contends contended emphasize emphasizes
    emphasized emphasise emphasises emphasised stress stressed assert asserts asserted
    predict predicts predicted vow vowed boast boasted shout shouted quip quipped
    joke joked"""
)
_SPEECH_PARTICIPLES = _words(
    """saying telling adding stating writing claiming insisting arguing warning explaining
    noting declaring announcing asking replying responding concluding recalling admitting
    tweeting posting remarking suggesting acknowledging commenting observing complaining
    urging calling describing testifying alleging maintaining contending emphasizing
    emphasising stressing asserting predicting vowing promising boasting charging
    shouting"""
)
#: Words a name or description of a speaker never contains.
_FUNCTION_WORDS = _words(
    """that which who whom whose what and or but nor if when because as to in on at by for
    with from after before while since than so though although where whether into onto
    about over under during against between through without within upon not no is are was
    were be been being has have had do does did will would shall should can could may
    might must there here then also later now once again reportedly allegedly recently
    previously further still even just only"""
)
_DETERMINERS = _words("the a an this these those his her their its our my your some")
#: Words inside a name when a capitalised word follows: "Ministry of Defence", "a report
#: in BuzzFeed News".
_NAME_LINKS = _words("of in at for from de")
#: Verbs between a speaker and the speech verb: "was overheard saying", "went on to say".
_VERB_FILLERS = _words("overheard heard quoted reported recorded went on to")
_PRONOUNS = _words("he she they we i it")
#: Words that open an adverbial phrase before a sentence's subject ("Last July, X said").
_OPENERS = _words(
    """in on at after before during last this earlier later meanwhile however but and yet
    still also then now since when while although though as for from by with under over
    yesterday today tonight speaking asked according separately instead moreover
    furthermore indeed monday tuesday wednesday thursday friday saturday sunday january
    february march april may june july august september october november december"""
)


@dataclass(frozen=True, slots=True)
class Speaker:
    """Where a speaker's name is written: ``text[start:end]``."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    text: str

    @property
    def key(self) -> str:
        return self.text.lower()

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum() or self.text[0] == "_"


def _tokens(text: str, start: int, end: int) -> list[_Token]:
    """The words and punctuation of ``text[start:end]``; "Ms." and "U.S." are one word each."""
    tokens = []
    for match in _TOKEN.finditer(text, start, end):
        first, last, word = match.start(), match.end(), match.group()
        if word.endswith(".") and word[:-1].lower() in _ABBREVIATIONS:
            tokens.append(_Token(first, last, word))
        elif word.endswith(".") and len(word) > 1 and not _INITIALS.fullmatch(word):
            tokens += (_Token(first, last - 1, word[:-1]), _Token(last - 1, last, "."))
        else:
            tokens.append(_Token(first, last, word))
    return tokens


def _phrase(tokens: Sequence[_Token]) -> Speaker | None:
    """The speaker that ``tokens`` name, if they look like a name or a description."""
    if not tokens or len(tokens) > MAX_SPEAKER_WORDS:
        return None
    if any(not token.is_word for token in tokens):
        return None
    first = tokens[0]
    if first.key in _FUNCTION_WORDS and first.key not in _DETERMINERS:
        return None  # "In Congo, WHO warns"
    named = any(token.text[0].isupper() for token in tokens)
    if not (named or first.key in _DETERMINERS or first.key in _PRONOUNS or len(tokens) <= 2):
        return None  # "officials", "police officers", "coalition president Tim Lambert"
    return Speaker(tokens[0].start, tokens[-1].end)


def _joins_names(tokens: Sequence[_Token], index: int) -> bool:
    """Whether ``tokens[index]`` links two parts of a name ("Secretary of State X")."""
    return (
        tokens[index].key in _NAME_LINKS
        and 0 < index < len(tokens) - 1
        and tokens[index + 1].text[0].isupper()
        and tokens[index - 1].is_word
    )


def _name_forward(tokens: Sequence[_Token]) -> Speaker | None:
    """The speaker at the start of ``tokens`` ("John Smith, a lawyer", "the ministry in ...")."""
    if tokens and tokens[0].key in _PRONOUNS:
        return _phrase(tokens[:1])
    taken: list[_Token] = []
    for index, token in enumerate(tokens):
        key = token.key
        if not token.is_word or (taken and key in _DETERMINERS):
            break
        if _joins_names(tokens, index):
            taken.append(token)
            continue
        if (key in _FUNCTION_WORDS and key not in _DETERMINERS) or key in _SPEECH_VERBS:
            break
        after_determiner = bool(taken) and taken[0].key in _DETERMINERS
        if taken and key.endswith("ed") and token.text.islower() and not after_determiner:
            break  # "Branch contradicted Penkoski": a verb ends the name
        taken.append(token)
    return _phrase(taken)


def _is_filler(key: str) -> bool:
    return key in _FUNCTION_WORDS or key in _VERB_FILLERS or key.endswith("ly")


def _name_backward(tokens: Sequence[_Token]) -> Speaker | None:
    """The speaker that ends ``tokens`` ("... officials in Tehran, the ministry", "he also")."""
    index = len(tokens)
    while index and _is_filler(tokens[index - 1].key):
        if tokens[index - 1].key in {"that", "who", "which", "and", "but"}:
            return None
        index -= 1  # "he also said", "the minister has said", "was overheard saying"
    taken: list[_Token] = []
    while index and len(taken) < MAX_SPEAKER_WORDS:
        token = tokens[index - 1]
        key = token.key
        if _joins_names(tokens, index - 1):
            taken.insert(0, token)
            index -= 1
            continue
        if not token.is_word or (key in _FUNCTION_WORDS and key not in _DETERMINERS):
            break
        if key in _PRONOUNS:
            if not taken:
                taken.append(token)
            break
        if key in _DETERMINERS and not taken:
            break  # "close to her said": an object, not a speaker
        taken.insert(0, token)
        if key in _DETERMINERS:
            break
        index -= 1
    return _phrase(taken)


def _subject(tokens: Sequence[_Token]) -> Speaker | None:
    """The subject of a sentence whose verb comes after an aside ("X, the minister, said"):
    its first comma-separated part that is no adverbial opener ("Last July")."""
    part: list[_Token] = []
    for token in [*tokens, _Token(0, 0, ",")]:
        if token.text != ",":
            part.append(token)
            continue
        if part and part[0].key not in _OPENERS and not part[0].text[0].isdigit():
            return _name_forward(part)
        part = []
    return None


def _is_speech_verb(token: _Token) -> bool:
    """A speech verb in lower case, or "Says" of a headline ("the Washington Post" is none)."""
    return token.key in _SPEECH_VERBS and (token.text.islower() or token.key in {"says", "said"})


def _before(tokens: Sequence[_Token], previous: Speaker | None) -> Speaker | None:
    """The speaker a sentence names before its quotation ("X said:", "according to X,")."""
    words_after = 0
    for index in range(len(tokens) - 1, -1, -1):
        token = tokens[index]
        key = token.key
        if key == "according" and index + 1 < len(tokens) and tokens[index + 1].key == "to":
            return _name_forward(tokens[index + 2 :])
        if key in _SPEECH_PARTICIPLES:
            return previous or _subject(tokens[:index])
        if _is_speech_verb(token):
            if index and tokens[index - 1].key == "and":
                return previous or _subject(tokens[:index])  # "X called it "A" and said "B""
            if index and tokens[index - 1].text == ",":
                return _subject(tokens[:index])
            return _name_backward(tokens[:index])
        words_after += token.is_word
        if words_after > MAX_WORDS_VERB_TO_QUOTE:
            return None
    return None


def _after(tokens: Sequence[_Token]) -> Speaker | None:
    """The speaker a sentence names after its quotation ("..., the ministry said", "said X")."""
    index = 0
    while index < len(tokens) and not tokens[index].is_word:
        index += 1
    rest = tokens[index:]
    if len(rest) > 1 and rest[0].key == "according" and rest[1].key == "to":
        return _name_forward(rest[2:])
    if rest and _is_speech_verb(rest[0]):
        return _name_forward(rest[1:])
    for position, token in enumerate(rest[: MAX_SPEAKER_WORDS + 12]):
        if _is_speech_verb(token) or token.key in _SPEECH_PARTICIPLES:
            head = rest[:position]
            if not head:
                return None
            comma = next((i for i, t in enumerate(head) if t.text == ","), len(head))
            if comma < len(head):
                return _phrase(head[:comma])  # "..., X, of the institute, notes"
            named = _name_backward(head)
            return named if named is not None and named.start == head[0].start else None
        if token.text in ".!?;:" or token.text in _QUOTE_MARKS:
            return None
    return None


def named_before(text: str, start: int, end: int, previous: Speaker | None) -> Speaker | None:
    """The speaker ``text[start:end]`` names before a quotation that follows it.

    ``previous`` is the speaker of an earlier quotation of the same sentence, whom a
    participle ("..., adding that") or a second verb ("and said") refers to.
    """
    return _before(_tokens(text, start, end), previous)


def named_after(text: str, start: int, end: int) -> Speaker | None:
    """The speaker ``text[start:end]`` names after a quotation that ends at ``start``."""
    return _after(_tokens(text, start, end))


def is_pronoun(name: str) -> bool:
    """Whether a speaker's name is a pronoun ("he", "They")."""
    return name.lower() in _PRONOUNS


def is_person_pronoun(name: str) -> bool:
    """Whether a speaker's name is "he" or "she", who stand for a speaker named before."""
    return name.lower() in {"he", "she"}
