"""Reading and writing the Propaganda Techniques Corpus (PTC) layout.

A PTC directory holds ``{split}-articles/article{ID}.txt`` files and gold labels:
tab-separated ``.labels`` files, ``ID  START  END`` for SI and
``ID  TECHNIQUE  START  END`` for FLC/TC (TC prediction templates use ``?``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from propscan.data import Annotations, Article, Span
from propscan.errors import InputFormatError, PropscanError
from propscan.techniques import TECHNIQUES

Task = Literal["si", "flc"]
SPLITS = ("train", "dev")
DEFAULT_DATA_DIR = Path("../shared/data/ptc-v2")
_ARTICLE_FILE = re.compile(r"^article(?P<id>[^.]+)\.txt$")


def resolve_data_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """The corpus directory: ``data`` if given, else ``$PROPSCAN_DATA``, else ``../shared/data/ptc-v2``."""
    chosen = data or os.environ.get("PROPSCAN_DATA")
    path = Path(chosen) if chosen else DEFAULT_DATA_DIR
    if not path.is_dir():
        hint = "pass --data DIR or set PROPSCAN_DATA to a directory in PTC layout"
        raise PropscanError(f"corpus directory {str(path)!r} does not exist; {hint}")
    return path


def read_text(path: Path) -> str:
    """Read a UTF-8 file exactly as stored (no newline translation: offsets depend on it)."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PropscanError(f"{path}: cannot read file ({error.strerror})") from error
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputFormatError(
            path, line, f"not valid UTF-8 (byte {error.start}); re-encode the file as UTF-8"
        ) from error


def article_id_from_filename(name: str) -> str | None:
    match = _ARTICLE_FILE.match(name)
    return match.group("id") if match else None


def read_articles(directory: str | os.PathLike[str]) -> list[Article]:
    """All ``article{ID}.txt`` files of a directory, sorted by id; the first line is the title."""
    folder = Path(directory)
    if not folder.is_dir():
        raise PropscanError(f"article directory {str(folder)!r} does not exist")
    articles = []
    for path in sorted(folder.iterdir()):
        article_id = article_id_from_filename(path.name)
        if article_id is None:
            continue
        text = read_text(path)
        title = text.split("\n", 1)[0].strip() or None
        articles.append(Article(id=article_id, text=text, title=title))
    if not articles:
        raise PropscanError(f"{folder}: no article files (expected names like article123.txt)")
    return articles


def _parse_int(value: str, path: Path, line: int, column: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InputFormatError(path, line, f"{column} {value!r} is not an integer") from None
    if number < 0:
        raise InputFormatError(path, line, f"{column} {number} is negative")
    return number


def parse_labels(
    text: str,
    path: Path,
    task: Task,
    articles: Mapping[str, Article] | None = None,
    allow_unknown_technique: bool = False,
) -> Annotations:
    """Parse the lines of a labels file; ``articles`` (when given) bounds-checks the offsets.

    ``allow_unknown_technique`` accepts ``?`` in the technique column (TC templates).
    """
    columns = 3 if task == "si" else 4
    pairs: list[tuple[str, Span]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) != columns:
            layout = "ID START END" if task == "si" else "ID TECHNIQUE START END"
            raise InputFormatError(
                path, number, f"expected {columns} tab-separated columns ({layout}), got {len(fields)}"
            )
        article_id = fields[0].strip()
        technique = None if task == "si" else fields[1].strip()
        start = _parse_int(fields[-2].strip(), path, number, "start offset")
        end = _parse_int(fields[-1].strip(), path, number, "end offset")
        if start >= end:
            raise InputFormatError(path, number, f"start offset {start} is not before end offset {end}")
        if technique is not None and technique not in TECHNIQUES:
            if not (allow_unknown_technique and technique == "?"):
                raise InputFormatError(
                    path, number,
                    f"unknown technique {technique!r}; run 'propscan techniques' for the 14 labels",
                )
            technique = None
        if articles is not None:
            article = articles.get(article_id)
            if article is None:
                raise InputFormatError(path, number, f"unknown article id {article_id!r}")
            if end > len(article.text):
                raise InputFormatError(
                    path, number,
                    f"end offset {end} is beyond article {article_id} ({len(article.text)} characters)",
                )
        pairs.append((article_id, Span(start, end, technique)))
    return Annotations.from_pairs(pairs)


def read_labels(
    path: str | os.PathLike[str],
    task: Task,
    articles: Mapping[str, Article] | None = None,
    allow_unknown_technique: bool = False,
) -> Annotations:
    """Read a PTC labels file (combined or per-article). Empty files are valid."""
    file = Path(path)
    return parse_labels(read_text(file), file, task, articles, allow_unknown_technique)


def format_labels(annotations: Annotations, task: Task) -> str:
    """PTC lines for ``annotations``, sorted by article id then offsets."""
    lines = []
    for article_id, span in annotations:
        if task == "si":
            lines.append(f"{article_id}\t{span.start}\t{span.end}\n")
        else:
            technique = span.technique if span.technique is not None else "?"
            lines.append(f"{article_id}\t{technique}\t{span.start}\t{span.end}\n")
    return "".join(lines)


def write_labels(path: str | os.PathLike[str], annotations: Annotations, task: Task) -> Path:
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(format_labels(annotations, task), encoding="utf-8", newline="")
    return file


@dataclass(frozen=True)
class Split:
    """One corpus split: its articles and their gold FLC annotations."""

    name: str
    articles: list[Article]
    gold: Annotations

    @property
    def by_id(self) -> dict[str, Article]:
        return {article.id: article for article in self.articles}


def load_split(data: str | os.PathLike[str] | None, split: str) -> Split:
    """Articles and gold FLC spans of ``split`` (``train`` or ``dev``) from a PTC directory."""
    if split not in SPLITS:
        raise PropscanError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    root = resolve_data_dir(data)
    articles = read_articles(root / f"{split}-articles")
    by_id = {article.id: article for article in articles}
    gold = read_labels(root / f"{split}-task-flc-tc.labels", "flc", by_id)
    spans = {article.id: gold[article.id] for article in articles}
    return Split(split, articles, Annotations(spans))


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Union of spans sharing at least one character (technique and score are dropped)."""
    merged: list[Span] = []
    for span in sorted(spans):
        if merged and span.start < merged[-1].end:
            if span.end > merged[-1].end:
                merged[-1] = Span(merged[-1].start, span.end)
        else:
            merged.append(Span(span.start, span.end))
    return merged


def validation_ids(article_ids: Iterable[str], fraction: float = 0.1) -> set[str]:
    """A fixed, seed-free part of the train articles held out for tuning thresholds.

    Chosen by a hash of the id so that every model and every run holds out the same
    articles, and dev stays untouched for evaluation.
    """
    import hashlib

    def bucket(article_id: str) -> float:
        digest = hashlib.sha256(article_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    return {article_id for article_id in article_ids if bucket(article_id) < fraction}
