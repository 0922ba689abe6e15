"""The SemEval-2021 Task 6 meme corpus (subtask 2): meme texts with technique spans.

A meme directory holds one JSON file per split: ``training_set_task2.txt`` (``train``),
``dev_set_task2.txt`` and ``test_set_task2.txt``, each a list of
``{id, text, labels: [{start, end, technique, text_fragment}]}`` with code-point offsets
into ``text`` (end exclusive). A meme becomes an :class:`Article` with the id
``meme{ID}`` (PTC ids are numbers, so the two never collide), tagged with
:data:`MEMES_CORPUS` so that training fits on memes but never holds them out.

Its 20 techniques are mapped onto the 14 by
:func:`propscan.core.techniques.meme_technique`; a span of a technique PTC lacks
(Smears, Glittering generalities, Obfuscation) is dropped, or kept without a technique
as propaganda for span finding only (``unmapped="unlabelled"``).

Where ``text[start:end]`` is not the span's ``text_fragment`` (5 spans of the released
corpus: two start a character early, one ends a character short, two fragments hold a
zero-width space the text lacks), the fragment is looked for within
:data:`FRAGMENT_SEARCH_DISTANCE` characters of ``start``, as written and without
zero-width characters, and the span moves onto it. A fragment found nowhere near leaves
the offsets as they are (they are the corpus's contract) with a
:class:`FragmentMismatchWarning` naming the meme.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from propscan.core.spans import Annotations, Article, Span
from propscan.core.techniques import meme_technique
from propscan.errors import InputFormatError, PropscanError
from propscan.ptc.io import is_file_safe_id, read_text

#: The ``corpus`` of the articles read from a meme directory.
MEMES_CORPUS = "semeval2021-task6"
MEME_SPLITS: tuple[str, ...] = ("train", "dev", "test")
_SPLIT_FILES: dict[str, str] = {
    "train": "training_set_task2.txt",
    "dev": "dev_set_task2.txt",
    "test": "test_set_task2.txt",
}

UnmappedPolicy = Literal["drop", "unlabelled"]
#: What happens to spans of techniques outside the 14: removed, or kept without a technique.
UNMAPPED_POLICIES: tuple[UnmappedPolicy, ...] = ("drop", "unlabelled")

#: How many characters from its stated start a mismatched fragment is looked for.
FRAGMENT_SEARCH_DISTANCE = 5
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_LABEL_FIELDS = ("start", "end", "technique", "text_fragment")
_KIND_NAMES: dict[type, str] = {int: "an integer", str: "a string", list: "a list"}


class FragmentMismatchWarning(UserWarning):
    """A span's ``text_fragment`` is not at its offsets nor near them; offsets were kept."""


@dataclass(frozen=True)
class MemeSplit:
    """The memes of one split file: articles, gold on the 14, and gold as the corpus names it."""

    articles: list[Article]
    gold: Annotations
    original: Annotations


def split_file(root: str | os.PathLike[str], split: str) -> Path:
    """The JSON file of ``split`` (``train``, ``dev`` or ``test``) in a meme directory."""
    return Path(root) / _SPLIT_FILES[split]


def split_file_names() -> tuple[str, ...]:
    """The names of the split files, for messages about the layout."""
    return tuple(_SPLIT_FILES.values())


def is_meme_dir(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` holds at least one split file of the meme corpus."""
    return any((Path(root) / name).is_file() for name in _SPLIT_FILES.values())


def meme_article_id(meme_id: str) -> str:
    """The article id of a meme: ``meme`` and the corpus's id (``meme128``)."""
    return f"meme{meme_id}"


def check_unmapped(unmapped: str) -> UnmappedPolicy:
    """``unmapped`` if it is one of :data:`UNMAPPED_POLICIES`, else a helpful error."""
    if unmapped not in UNMAPPED_POLICIES:
        raise PropscanError(
            f"unknown policy {unmapped!r} for spans outside the 14 techniques; "
            f"expected one of {', '.join(UNMAPPED_POLICIES)}"
        )
    return unmapped  # type: ignore[return-value]


def locate_fragment(text: str, start: int, end: int, fragment: str) -> tuple[int, int] | None:
    """The offsets of ``fragment`` in ``text``: ``start, end`` when they give it, else its
    occurrence nearest ``start`` (within :data:`FRAGMENT_SEARCH_DISTANCE`), also without
    zero-width characters; ``None`` when it is not there."""
    if text[start:end] == fragment:
        return start, end
    low = max(0, start - FRAGMENT_SEARCH_DISTANCE)
    for candidate in dict.fromkeys((fragment, fragment.translate(_ZERO_WIDTH))):
        if not candidate:
            continue
        found = []
        position = text.find(candidate, low)
        while position != -1 and position <= start + FRAGMENT_SEARCH_DISTANCE:
            found.append(position)
            position = text.find(candidate, position + 1)
        if found:
            nearest = min(found, key=lambda at: abs(at - start))
            return nearest, nearest + len(candidate)
    return None


def _error(path: Path, meme: str, problem: str) -> InputFormatError:
    """A problem of one meme (or one label of it) in the file ``path``."""
    return InputFormatError(path, None, f"{meme}: {problem}")


def _field(record: dict[str, Any], name: str, kind: type, path: Path, meme: str) -> Any:
    if name not in record:
        raise _error(path, meme, f"missing field {name!r}")
    value = record[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _error(
            path, meme, f"field {name!r} must be {_KIND_NAMES[kind]}, got {type(value).__name__}"
        )
    return value


def _meme_id(record: Any, index: int, path: Path) -> str:
    meme = f"meme #{index + 1}"
    if not isinstance(record, dict):
        raise _error(path, meme, f"expected an object {{id, text, labels}}, got {record!r:.40}")
    meme_id = record.get("id")
    if isinstance(meme_id, int) and not isinstance(meme_id, bool):
        meme_id = str(meme_id)
    if not isinstance(meme_id, str) or not is_file_safe_id(meme_id):
        raise _error(
            path,
            meme,
            f"id must be a non-empty string without spaces, dots or slashes, got {meme_id!r}",
        )
    return meme_id


def _label_span(label: Any, number: int, text: str, path: Path, meme: str) -> Span:
    """One label as a span with the corpus's technique name, offsets checked (and repaired)."""
    name = f"{meme}, label {number}"
    if not isinstance(label, dict):
        raise _error(path, name, f"expected an object {{{', '.join(_LABEL_FIELDS)}}}")
    start = _field(label, "start", int, path, name)
    end = _field(label, "end", int, path, name)
    technique = _field(label, "technique", str, path, name)
    fragment = _field(label, "text_fragment", str, path, name)
    if not 0 <= start < end:
        raise _error(path, name, f"offsets {start}:{end} are not 0 <= start < end")
    if end > len(text):
        raise _error(path, name, f"end offset {end} is beyond the text ({len(text)} characters)")
    try:
        meme_technique(technique)
    except PropscanError as error:
        raise _error(path, name, str(error)) from None
    located = locate_fragment(text, start, end, fragment)
    if located is None:
        warnings.warn(
            f"{path}: {name}: text_fragment {fragment!r:.60} is not at {start}:{end} "
            f"nor within {FRAGMENT_SEARCH_DISTANCE} characters; the offsets are kept",
            FragmentMismatchWarning,
            stacklevel=2,
        )
        located = start, end
    return Span(*located, technique)


def parse_memes(
    content: str, path: str | os.PathLike[str], unmapped: UnmappedPolicy = "drop"
) -> MemeSplit:
    """The memes of one split file's text; ``path`` only names the file in errors."""
    policy = check_unmapped(unmapped)
    file = Path(path)
    try:
        records = json.loads(content.removeprefix("\ufeff"))
    except json.JSONDecodeError as error:
        raise InputFormatError(
            file, error.lineno, f"not valid JSON ({error.msg} at column {error.colno})"
        ) from None
    if not isinstance(records, list):
        raise InputFormatError(file, None, "expected a JSON list of memes")
    articles: dict[str, Article] = {}
    gold: dict[str, tuple[Span, ...]] = {}
    original: dict[str, tuple[Span, ...]] = {}
    for index, record in enumerate(records):
        meme_id = _meme_id(record, index, file)
        meme = f"meme {meme_id!r}"
        text = _field(record, "text", str, file, meme)
        labels = _field(record, "labels", list, file, meme)
        article_id = meme_article_id(meme_id)
        if article_id in articles:
            raise _error(file, meme, "appears twice in the file; meme ids must be unique")
        spans = [
            _label_span(label, number, text, file, meme)
            for number, label in enumerate(labels, start=1)
        ]
        mapped = [Span(span.start, span.end, meme_technique(str(span.technique))) for span in spans]
        articles[article_id] = Article(id=article_id, text=text, corpus=MEMES_CORPUS)
        original[article_id] = tuple(spans)
        gold[article_id] = tuple(
            span for span in mapped if span.technique is not None or policy == "unlabelled"
        )
    return MemeSplit(list(articles.values()), Annotations(gold), Annotations(original))


def read_memes(path: str | os.PathLike[str], unmapped: UnmappedPolicy = "drop") -> MemeSplit:
    """The memes of one split file (UTF-8 JSON)."""
    return parse_memes(read_text(path), path, unmapped)
