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

Every reader of user files decodes them with :func:`decode_utf8`, so an undecodable
byte is always reported with its line, and every reader of labels files that accepts
more than one layout tells them apart with :func:`sniff_labels_task`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from propscan.core.spans import Annotations, Article, Span, to_si_annotations
from propscan.core.techniques import PTC_14, TechniqueSet, technique_set
from propscan.errors import InputFormatError, PropscanError
from propscan.files import write_file

Task = Literal["si", "flc"]
TASKS: tuple[Task, ...] = ("si", "flc")
#: The technique column of a TC template: a span whose technique is to be predicted.
TEMPLATE_TECHNIQUE = "?"

_TASK_FILE_PART: dict[str, str] = {"si": "task-si", "flc": "task-flc-tc"}
_COLUMNS: dict[str, tuple[str, ...]] = {
    "si": ("ID", "START", "END"),
    "flc": ("ID", "TECHNIQUE", "START", "END"),
}
_ARTICLE_FILE = re.compile(r"^article(?P<id>[^.]+)\.txt$")
_BOM = "\ufeff"
# Article ids that can be written into a file name and read back by the patterns above.
_FILE_SAFE_ID = re.compile(r"^[^\s./\\]+$")


def is_file_safe_id(article_id: str) -> bool:
    """Whether ``article_id`` can be written into a file name and read back from it."""
    return _FILE_SAFE_ID.match(article_id) is not None


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


class EncodingProblem(InputFormatError):
    """Bytes that are not UTF-8; ``line`` and ``byte`` locate the first bad byte."""

    def __init__(self, where: object, line: int, byte: int, what: str) -> None:
        super().__init__(
            where, line, f"not valid UTF-8 (byte {byte}); re-encode the {what} as UTF-8"
        )
        self.byte = byte


def decode_utf8(raw: bytes, where: object, what: str = "file") -> str:
    """``raw`` as UTF-8 text, kept exactly (no newline translation: offsets depend on it).

    An undecodable byte raises :class:`EncodingProblem` naming ``where`` and the line of
    the byte; ``what`` says what to re-encode ("file", "text").
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise EncodingProblem(where, line, error.start, what) from error


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a UTF-8 file exactly as stored (no newline translation: offsets depend on it)."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise PropscanError(f"{file}: cannot read file ({error.strerror})") from error
    return decode_utf8(raw, file)


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
    techniques: TechniqueSet | None = PTC_14,
) -> Annotations:
    """Parse the lines of a labels file; ``path`` only names the file in error messages.

    ``articles`` (when given) rejects unknown article ids and offsets beyond the text;
    ``techniques`` are the labels the technique column may hold (None: any label);
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
        elif technique is not None and techniques is not None:
            try:
                techniques.check(technique)
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
    techniques: TechniqueSet | None = PTC_14,
) -> Annotations:
    """Read a PTC labels file (combined or per-article). Empty files are valid."""
    return parse_labels(
        read_text(path),
        path,
        task,
        articles,
        allow_unknown_technique,
        article_id=article_id,
        techniques=techniques,
    )


#: Files naming a corpus's technique labels, one per line, the first found wins: a corpus
#: of its own labels lists them in ``techniques.txt``; PTC ships ``techniques-14.txt``.
TECHNIQUE_FILES = ("techniques.txt", "techniques-14.txt")


def read_technique_set(root: str | os.PathLike[str]) -> TechniqueSet:
    """The technique labels a corpus directory is annotated with (PTC's 14 by default)."""
    for name in TECHNIQUE_FILES:
        path = Path(root) / name
        if path.is_file():
            labels = [line.strip() for line in read_text(path).splitlines() if line.strip()]
            try:
                return technique_set(labels)
            except PropscanError as error:
                raise PropscanError(f"{path}: {error}") from None
    return PTC_14


def sniff_labels_task(text: str) -> Task | None:
    """``si`` or ``flc`` from the columns of the first non-blank line (3 or 4), else ``None``."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    columns = len(first.rstrip("\r").split("\t"))
    return {3: "si", 4: "flc"}.get(columns)  # type: ignore[return-value]


def read_spans_to_classify(
    path: str | os.PathLike[str], articles: Mapping[str, Article] | None = None
) -> Annotations:
    """The spans of a TC template (``ID ? START END``) or an SI file (``ID START END``).

    Techniques of a template are ``None`` (``?``); a file of any other layout is read as
    a template, so its error names the four columns expected.
    """
    text = read_text(path)
    task = sniff_labels_task(text) or "flc"
    return parse_labels(text, path, task, articles, allow_unknown_technique=True)


def read_si_labels(path: str | os.PathLike[str]) -> Annotations:
    """SI spans of an SI file (``ID START END``), or of an FLC/TC file with techniques dropped.

    The layout is told from the first line; any layout but four columns is read as SI.
    """
    text = read_text(path)
    if sniff_labels_task(text) == "flc":
        flc = parse_labels(text, path, "flc", allow_unknown_technique=True, techniques=None)
        return to_si_annotations(flc)  # any technique name: SI ignores them
    return parse_labels(text, path, "si")


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


def check_writable_id(article_id: str, destination: str = "a labels file") -> str:
    """``article_id`` if it can stand in the first column of a labels file, else an error."""
    if not article_id or any(character.isspace() for character in article_id):
        raise PropscanError(
            f"article id {article_id!r} cannot be written to {destination} "
            "(it must be non-empty and contain no spaces, tabs or line breaks)"
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
        check_writable_id(article_id)
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
    return write_file(path, format_labels(annotations, task))


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
        if not is_file_safe_id(article_id):
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
