"""Reading and writing the Propaganda Techniques Corpus (PTC) layout.

A PTC directory holds, for each split (``train``, ``dev``):

* ``{split}-articles/article{ID}.txt``: the articles, title on the first line;
* ``{split}-task-si.labels`` and ``{split}-task-flc-tc.labels``: all gold spans of the
  split, tab-separated, ``ID START END`` for SI and ``ID TECHNIQUE START END`` for
  FLC/TC (TC templates put ``?`` in the technique column);
* ``{split}-labels-task-si/article{ID}.task-si.labels`` and
  ``{split}-labels-task-flc-tc/article{ID}.task-flc-tc.labels``: the same spans, one
  file per article (empty for an article without spans).

Articles are decoded as UTF-8 and kept exactly as stored, because the offsets count
characters of the stored text: there is no newline translation (a CRLF is two
characters) and a leading byte-order mark stays in the text as U+FEFF (two train
articles start with one and their offsets count it). Labels files may start with a
byte-order mark and end their lines with CRLF; both are ignored there.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from propscan.data import Annotations, Article, Span
from propscan.errors import InputFormatError, PropscanError
from propscan.techniques import TECHNIQUES, check_technique

Task = Literal["si", "flc"]
TASKS: tuple[Task, ...] = ("si", "flc")
SPLITS = ("train", "dev")
DEFAULT_DATA_DIR = Path("../shared/data/ptc-v2")
#: The technique column of a TC template: a span whose technique is to be predicted.
TEMPLATE_TECHNIQUE = "?"
#: Version of the JSON written by :meth:`CorpusStats.to_dict` (``propscan corpus stats``).
STATS_SCHEMA_VERSION = 1

_TASK_FILE_PART: dict[str, str] = {"si": "task-si", "flc": "task-flc-tc"}
_COLUMNS: dict[str, tuple[str, ...]] = {
    "si": ("ID", "START", "END"),
    "flc": ("ID", "TECHNIQUE", "START", "END"),
}
_ARTICLE_FILE = re.compile(r"^article(?P<id>[^.]+)\.txt$")
_BOM = "\ufeff"
# Article ids that can be written into a file name and read back by the patterns above.
_FILE_SAFE_ID = re.compile(r"^[^\s./\\]+$")


def _check_task(task: str) -> Task:
    if task not in _TASK_FILE_PART:
        raise PropscanError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    return task  # type: ignore[return-value]


def articles_dir(root: str | os.PathLike[str], split: str) -> Path:
    """``{split}-articles`` of a PTC directory."""
    return Path(root) / f"{split}-articles"


def combined_labels_path(root: str | os.PathLike[str], split: str, task: Task) -> Path:
    """The labels file holding every span of ``split``, e.g. ``dev-task-flc-tc.labels``."""
    return Path(root) / f"{split}-{_TASK_FILE_PART[_check_task(task)]}.labels"


def article_labels_dir(root: str | os.PathLike[str], split: str, task: Task) -> Path:
    """The folder of per-article labels files, e.g. ``dev-labels-task-si``."""
    return Path(root) / f"{split}-labels-{_TASK_FILE_PART[_check_task(task)]}"


def article_labels_filename(article_id: str, task: Task) -> str:
    """The per-article labels file name, e.g. ``article123.task-flc-tc.labels``."""
    return f"article{article_id}.{_TASK_FILE_PART[_check_task(task)]}.labels"


def _article_labels_pattern(task: Task) -> re.Pattern[str]:
    return re.compile(rf"^article(?P<id>[^.]+)\.{re.escape(_TASK_FILE_PART[task])}\.labels$")


def resolve_data_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """The corpus directory: ``data``, else ``$PROPSCAN_DATA``, else ``../shared/data/ptc-v2``."""
    chosen = data or os.environ.get("PROPSCAN_DATA")
    path = Path(chosen) if chosen else DEFAULT_DATA_DIR
    if not path.is_dir():
        hint = "pass --data DIR or set PROPSCAN_DATA to a directory in PTC layout"
        raise PropscanError(f"corpus directory {str(path)!r} does not exist; {hint}")
    return path


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a UTF-8 file exactly as stored (no newline translation: offsets depend on it)."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise PropscanError(f"{file}: cannot read file ({error.strerror})") from error
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputFormatError(
            file, line, f"not valid UTF-8 (byte {error.start}); re-encode the file as UTF-8"
        ) from error


def article_id_from_filename(name: str) -> str | None:
    """The ID of a PTC article file name ``article{ID}.txt``, or ``None`` for other names."""
    match = _ARTICLE_FILE.match(name)
    return match.group("id") if match else None


def _title(text: str) -> str | None:
    return text.split("\n", 1)[0].removeprefix(_BOM).strip() or None


def read_article(path: str | os.PathLike[str]) -> Article:
    """One ``article{ID}.txt`` file; the first line is the title."""
    file = Path(path)
    article_id = article_id_from_filename(file.name)
    if article_id is None:
        raise PropscanError(f"{file}: not a PTC article file name (expected article{{ID}}.txt)")
    text = read_text(file)
    return Article(id=article_id, text=text, title=_title(text))


def read_articles(directory: str | os.PathLike[str]) -> list[Article]:
    """All ``article{ID}.txt`` files of a directory, sorted by file name."""
    folder = Path(directory)
    if not folder.is_dir():
        raise PropscanError(f"article directory {str(folder)!r} does not exist")
    articles = [
        read_article(path)
        for path in sorted(folder.iterdir())
        if article_id_from_filename(path.name) is not None
    ]
    if not articles:
        raise PropscanError(f"{folder}: no article files (expected names like article123.txt)")
    return articles


def _parse_offset(value: str, path: Path, line: int, column: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InputFormatError(path, line, f"{column} {value!r} is not an integer") from None
    if number < 0:
        raise InputFormatError(path, line, f"{column} {number} is negative")
    return number


def _column_problem(line: str, task: Task, found: int) -> str:
    """Why a line has the wrong number of columns, with a hint at the likely cause."""
    columns = _COLUMNS[task]
    problem = f"expected {len(columns)} tab-separated columns ({' '.join(columns)}), got {found}"
    if len(line.split()) == len(columns):
        return f"{problem}; separate the columns with tabs, not spaces"
    other: Task = "flc" if task == "si" else "si"
    if found == len(_COLUMNS[other]):
        kind = "an SI" if other == "si" else "an FLC/TC"
        return f"{problem}; this looks like {kind} labels file"
    return problem


def parse_labels(
    text: str,
    path: str | os.PathLike[str],
    task: Task,
    articles: Mapping[str, Article] | None = None,
    allow_unknown_technique: bool = False,
    *,
    article_id: str | None = None,
) -> Annotations:
    """Parse the lines of a labels file; ``path`` only names the file in error messages.

    ``articles`` (when given) rejects unknown article ids and offsets beyond the text;
    ``allow_unknown_technique`` accepts ``?`` in the technique column (TC templates);
    ``article_id`` (per-article files) requires every line to belong to that article.
    Blank lines are skipped; an empty text gives empty annotations.
    """
    task = _check_task(task)
    where = Path(path)
    pairs: list[tuple[str, Span]] = []
    for number, raw_line in enumerate(text.removeprefix(_BOM).split("\n"), start=1):
        line = raw_line.removesuffix("\r")
        if not line.strip():
            continue
        fields = [column.strip() for column in line.split("\t")]
        if len(fields) != len(_COLUMNS[task]):
            raise InputFormatError(where, number, _column_problem(line, task, len(fields)))
        line_article = fields[0]
        if not line_article:
            raise InputFormatError(where, number, "empty article id in the first column")
        if article_id is not None and line_article != article_id:
            raise InputFormatError(
                where,
                number,
                f"article id {line_article!r} in the labels file of article {article_id!r}",
            )
        technique = None if task == "si" else fields[1]
        start = _parse_offset(fields[-2], where, number, "start offset")
        end = _parse_offset(fields[-1], where, number, "end offset")
        if start >= end:
            raise InputFormatError(
                where, number, f"start offset {start} is not before end offset {end}"
            )
        if technique == TEMPLATE_TECHNIQUE and allow_unknown_technique:
            technique = None
        elif technique is not None:
            try:
                check_technique(technique)
            except PropscanError as error:
                raise InputFormatError(where, number, str(error)) from None
        if articles is not None:
            article = articles.get(line_article)
            if article is None:
                raise InputFormatError(
                    where, number, f"unknown article id {line_article!r} (no such article file)"
                )
            if end > len(article.text):
                raise InputFormatError(
                    where,
                    number,
                    f"end offset {end} is beyond article {line_article} "
                    f"({len(article.text)} characters)",
                )
        pairs.append((line_article, Span(start, end, technique)))
    return Annotations.from_pairs(pairs)


def read_labels(
    path: str | os.PathLike[str],
    task: Task,
    articles: Mapping[str, Article] | None = None,
    allow_unknown_technique: bool = False,
    *,
    article_id: str | None = None,
) -> Annotations:
    """Read a PTC labels file (combined or per-article). Empty files are valid."""
    return parse_labels(
        read_text(path), path, task, articles, allow_unknown_technique, article_id=article_id
    )


def read_tc_template(
    path: str | os.PathLike[str], articles: Mapping[str, Article] | None = None
) -> Annotations:
    """The spans of a TC template (``?`` technique), to be classified; techniques are ``None``."""
    return read_labels(path, "flc", articles, allow_unknown_technique=True)


def read_article_labels(
    directory: str | os.PathLike[str],
    task: Task,
    articles: Mapping[str, Article] | None = None,
    allow_unknown_technique: bool = False,
) -> Annotations:
    """All per-article labels files of a folder (``article{ID}.task-….labels``).

    Every article with a file is listed in ``article_ids``, also when its file is empty.
    """
    task = _check_task(task)
    folder = Path(directory)
    if not folder.is_dir():
        raise PropscanError(f"labels directory {str(folder)!r} does not exist")
    pattern = _article_labels_pattern(task)
    spans: dict[str, tuple[Span, ...]] = {}
    for path in sorted(folder.iterdir()):
        match = pattern.match(path.name)
        if match is None:
            continue
        article_id = match.group("id")
        if articles is not None and article_id not in articles:
            raise InputFormatError(path, None, f"no article with id {article_id!r}")
        labels = read_labels(path, task, articles, allow_unknown_technique, article_id=article_id)
        spans[article_id] = labels[article_id]
    if not spans:
        expected = article_labels_filename("123", task)
        raise PropscanError(f"{folder}: no labels files (expected names like {expected})")
    return Annotations(spans)


def _check_writable_id(article_id: str) -> str:
    if not article_id or any(character.isspace() for character in article_id):
        raise PropscanError(
            f"article id {article_id!r} cannot be written to a labels file "
            "(it must be non-empty and contain no spaces, tabs or newlines)"
        )
    return article_id


def format_labels(annotations: Annotations, task: Task) -> str:
    """PTC lines for ``annotations``, sorted by article id then offsets.

    FLC spans without a technique are written with ``?`` (a TC template). SI lines
    carry no technique, so spans of one article with equal offsets become one line.
    """
    task = _check_task(task)
    lines = []
    for article_id, spans in annotations.spans.items():
        _check_writable_id(article_id)
        if task == "si":
            for start, end in sorted({(span.start, span.end) for span in spans}):
                lines.append(f"{article_id}\t{start}\t{end}\n")
        else:
            for span in spans:
                technique = span.technique if span.technique is not None else TEMPLATE_TECHNIQUE
                lines.append(f"{article_id}\t{technique}\t{span.start}\t{span.end}\n")
    return "".join(lines)


def write_labels(path: str | os.PathLike[str], annotations: Annotations, task: Task) -> Path:
    """Write one labels file (e.g. all predictions of a split), creating its folder."""
    content = format_labels(annotations, task)
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(content, encoding="utf-8", newline="")
    return file


def write_article_labels(
    directory: str | os.PathLike[str],
    annotations: Annotations,
    task: Task,
    article_ids: Iterable[str],
) -> list[Path]:
    """Write one labels file per article, named as in the corpus; empty for no spans.

    Spans of an article not in ``article_ids`` are an error rather than dropped.
    """
    task = _check_task(task)
    ids = list(dict.fromkeys(article_ids))
    missing = sorted({aid for aid, spans in annotations.spans.items() if spans} - set(ids))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise PropscanError(
            f"annotations have spans for {len(missing)} article(s) not among the articles "
            f"to write: {shown}"
        )
    for article_id in ids:
        if not _FILE_SAFE_ID.match(article_id):
            raise PropscanError(
                f"article id {article_id!r} cannot be used in a file name "
                "(no spaces, dots or slashes)"
            )
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_labels(
            folder / article_labels_filename(article_id, task),
            annotations.restrict([article_id]),
            task,
        )
        for article_id in ids
    ]


@dataclass(frozen=True)
class Split:
    """One corpus split: its articles and their gold FLC annotations."""

    name: str
    articles: list[Article]
    gold: Annotations

    @cached_property
    def by_id(self) -> dict[str, Article]:
        return {article.id: article for article in self.articles}


def load_split(data: str | os.PathLike[str] | None, split: str) -> Split:
    """Articles and gold FLC spans of ``split`` (``train`` or ``dev``) from a PTC directory."""
    if split not in SPLITS:
        raise PropscanError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    root = resolve_data_dir(data)
    folder = articles_dir(root, split)
    if not folder.is_dir():
        raise PropscanError(
            f"{root} has no {folder.name}/ folder; is it a corpus directory in PTC layout?"
        )
    articles = read_articles(folder)
    by_id = {article.id: article for article in articles}
    gold = read_labels(combined_labels_path(root, split, "flc"), "flc", by_id)
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

    def bucket(article_id: str) -> float:
        digest = hashlib.sha256(article_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    return {article_id for article_id in article_ids if bucket(article_id) < fraction}


# Corpus statistics ----------------------------------------------------------------------

PERCENTILES: tuple[int, ...] = (10, 25, 50, 75, 90)


def percentile(sorted_values: Sequence[int], p: float) -> int:
    """Nearest-rank percentile: a value that really occurs (0 < p <= 100, values sorted)."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class OverlapCounts:
    """How spans of one article overlap (share at least one character)."""

    pairs: int
    same_technique_pairs: int
    same_offsets_pairs: int
    spans_overlapping: int


def count_overlaps(annotations: Annotations) -> OverlapCounts:
    """Overlapping span pairs within each article; pairs with equal offsets are included."""
    pairs = same_technique = same_offsets = 0
    overlapping = 0
    for spans in annotations.spans.values():
        involved: set[int] = set()
        for i, span in enumerate(spans):  # sorted by start, so later spans start no earlier
            for j in range(i + 1, len(spans)):
                other = spans[j]
                if other.start >= span.end:
                    break
                pairs += 1
                same_technique += span.technique == other.technique
                same_offsets += (span.start, span.end) == (other.start, other.end)
                involved.update((i, j))
        overlapping += len(involved)
    return OverlapCounts(pairs, same_technique, same_offsets, overlapping)


@dataclass(frozen=True)
class CorpusStats:
    """Size, technique counts, span lengths and overlaps of one split."""

    split: str
    articles: int
    characters: int
    words: int
    spans: int
    spans_per_technique: dict[str, int]
    span_length: dict[str, int] | None
    overlaps: OverlapCounts

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "articles": self.articles,
            "characters": self.characters,
            "words": self.words,
            "spans": self.spans,
            "spans_per_technique": dict(self.spans_per_technique),
            "span_length": dict(self.span_length) if self.span_length is not None else None,
            "overlaps": {
                "pairs": self.overlaps.pairs,
                "same_technique_pairs": self.overlaps.same_technique_pairs,
                "same_offsets_pairs": self.overlaps.same_offsets_pairs,
                "spans_overlapping": self.overlaps.spans_overlapping,
            },
        }


def corpus_stats(split: Split) -> CorpusStats:
    """Statistics of a split; words are whitespace-separated, lengths are in characters.

    ``span_length`` maps ``p10`` … ``p90`` and ``max`` to nearest-rank values (``None``
    without spans); ``spans_per_technique`` lists all 14 techniques, zeros included.
    """
    counts = Counter(span.technique for _, span in split.gold)
    lengths = sorted(span.length for _, span in split.gold)
    span_length = None
    if lengths:
        span_length = {f"p{p}": percentile(lengths, p) for p in PERCENTILES}
        span_length["max"] = lengths[-1]
    return CorpusStats(
        split=split.name,
        articles=len(split.articles),
        characters=sum(len(article.text) for article in split.articles),
        words=sum(len(article.text.split()) for article in split.articles),
        spans=len(split.gold),
        spans_per_technique={label: counts.get(label, 0) for label in TECHNIQUES},
        span_length=span_length,
        overlaps=count_overlaps(split.gold),
    )
