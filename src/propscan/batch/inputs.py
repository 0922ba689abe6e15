"""Where the articles of a batch run come from: a folder of ``.txt`` files, JSONL, CSV or Parquet.

Every input becomes a stream of :class:`InputRecord`: an article, or the reason it
cannot be analysed (no id, empty text, not UTF-8, too long, a duplicate id), so one
bad record never stops a run. ``location`` (a line, a row, a file) identifies a record.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from propscan.batch.metadata import folder_metadata
from propscan.core.checks import DEFAULT_MAX_CHARS, has_content, unicode_problem
from propscan.core.spans import Article
from propscan.errors import PropscanError
from propscan.ptc.io import EncodingProblem, article_id_from_filename, decode_utf8

DEFAULT_MAX_CHARACTERS = DEFAULT_MAX_CHARS


@dataclass(frozen=True, slots=True)
class Columns:
    """Which input fields hold what; ``source`` tries each name in turn (``source``, ``outlet``)."""

    id: str = "id"
    text: str = "text"
    title: str = "title"
    source: tuple[str, ...] = ("source", "outlet")
    date: str = "date"
    url: str = "url"


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One record of the input: an article, or the reason it cannot be analysed.

    ``location`` says where the record is (``line 7``, ``row 3``, a file name) and is
    its stable identity within the input: errors are recorded and resumed by it.
    """

    position: int
    location: str
    id: str | None
    article: Article | None = None
    problem: str | None = None


def _check_text_field(name: str, value: str) -> str | None:
    """A problem with a decoded string field, or ``None`` (lone surrogates cannot be stored)."""
    problem = unicode_problem(value)
    return None if problem is None else f"{name} {problem}; fix the input's encoding or escapes"


def _as_optional_string(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):  # NaN from tables
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    text = str(value).strip()
    return text or None


def make_record(
    fields: Mapping[str, Any],
    position: int,
    location: str,
    columns: Columns,
    max_characters: int,
) -> InputRecord:
    """Validate one input row and turn it into an :class:`InputRecord`."""
    raw_id = fields.get(columns.id)
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        problem = (
            f"missing id (no {columns.id!r} field)"
            if raw_id is None
            else (f"id {raw_id!r} is not a string or an integer")
        )
        return InputRecord(position, location, None, problem=problem)
    record_id = str(raw_id).strip()
    if not record_id:
        return InputRecord(position, location, None, problem=f"empty id in {columns.id!r}")
    # Checked first: every later problem is reported under the id, which must be storable.
    if problem := _check_text_field(f"id {record_id!a}", record_id):
        return InputRecord(position, location, None, problem=problem)
    text = fields.get(columns.text)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            problem = f"text is not valid UTF-8 (byte {error.start}); re-encode it as UTF-8"
            return InputRecord(position, location, record_id, problem=problem)
    if text is None:
        return InputRecord(position, location, record_id, problem=f"missing {columns.text!r} field")
    if not isinstance(text, str):
        problem = f"{columns.text!r} is not a string"
        return InputRecord(position, location, record_id, problem=problem)
    if not has_content(text):
        return InputRecord(position, location, record_id, problem="empty text")
    if len(text) > max_characters:
        problem = (
            f"text too long: {len(text)} characters (limit {max_characters}; "
            "raise it with --max-chars or split the article)"
        )
        return InputRecord(position, location, record_id, problem=problem)
    source = next(
        (value for name in columns.source if (value := _as_optional_string(fields.get(name)))),
        None,
    )
    article = Article(
        id=record_id,
        text=text,
        title=_as_optional_string(fields.get(columns.title)),
        source=source,
        date=_as_optional_string(fields.get(columns.date)),
        url=_as_optional_string(fields.get(columns.url)),
    )
    for name in ("text", "title", "source", "date", "url"):
        value = getattr(article, name)
        if value is not None and (problem := _check_text_field(name, value)):
            return InputRecord(position, location, record_id, problem=problem)
    return InputRecord(position, location, record_id, article=article)


def _text_files(folder: Path) -> list[Path]:
    """The ``.txt`` files of a folder; for a PTC corpus root, those of its ``*-articles``."""
    files = sorted(path for path in folder.glob("*.txt") if path.is_file())
    article_folders = sorted(path for path in folder.glob("*-articles") if path.is_dir())
    if article_folders and all(article_id_from_filename(p.name) is None for p in files):
        files = [path for sub in article_folders for path in sorted(sub.glob("*.txt"))]
    return files


def _displayable(name: str) -> str:
    """A file name as storable text: bytes that are not UTF-8 written as ``\\xff``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _file_id(path: Path) -> str:
    return article_id_from_filename(path.name) or path.stem


def _folder_files(folder: Path) -> tuple[list[Path], dict[Path, dict[str, str]]]:
    """The folder's ``.txt`` files and their sidecar metadata (see :mod:`.metadata`)."""
    files = _text_files(folder)
    if not files:
        raise PropscanError(
            f"{folder}: no .txt files; give a folder of article texts (one .txt file each)"
        )
    return files, folder_metadata(folder, files, [_file_id(path) for path in files])


def _read_text_folder(folder: Path, columns: Columns, max_characters: int) -> Iterator[InputRecord]:
    files, metadata = _folder_files(folder)
    for position, path in enumerate(files):
        location = _displayable(str(path.relative_to(folder)))
        record_id = _file_id(path)
        if problem := unicode_problem(record_id):
            problem = f"file name {problem}; rename the file in UTF-8"
            yield InputRecord(position, location, None, problem=problem)
            continue
        try:
            raw = path.read_bytes()
        except OSError as error:
            yield InputRecord(
                position, location, record_id, problem=f"cannot read ({error.strerror})"
            )
            continue
        try:
            text = decode_utf8(raw, location)
        except EncodingProblem as error:
            problem = (
                f"not valid UTF-8 (line {error.line}, byte {error.byte}); re-encode it as UTF-8"
            )
            yield InputRecord(position, location, record_id, problem=problem)
            continue
        given = metadata.get(path, {})
        title = given.get("title") or text.split("\n", 1)[0].strip() or None
        fields = {columns.id: record_id, columns.text: text, columns.title: title}
        fields |= {columns.source[0]: given.get("source"), columns.date: given.get("date")}
        fields[columns.url] = given.get("url")
        yield make_record(fields, position, location, columns, max_characters)


def _read_jsonl(path: Path, columns: Columns, max_characters: int) -> Iterator[InputRecord]:
    position = 0
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            location = f"line {number}"
            try:
                fields = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                problem = f"not valid UTF-8 (byte {error.start} of the line); re-encode it as UTF-8"
                yield InputRecord(position, location, None, problem=problem)
            except ValueError as error:
                yield InputRecord(position, location, None, problem=f"not valid JSON ({error})")
            else:
                if isinstance(fields, dict):
                    yield make_record(fields, position, location, columns, max_characters)
                else:
                    problem = f"expected a JSON object, got {type(fields).__name__}"
                    yield InputRecord(position, location, None, problem=problem)
            position += 1


def _require_columns(path: Path, available: Sequence[str], columns: Columns) -> None:
    for name, option in ((columns.id, "--id-column"), (columns.text, "--text-column")):
        if name not in available:
            raise PropscanError(
                f"{path}: no column {name!r} (columns: {', '.join(available) or 'none'}); "
                f"name the right one with {option}"
            )


def _read_csv(path: Path, columns: Columns, max_characters: int) -> Iterator[InputRecord]:
    csv.field_size_limit(max(csv.field_size_limit(), 4 * max_characters + 1))
    # surrogateescape keeps bad bytes as lone surrogates, so one bad row fails alone.
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            _require_columns(path, reader.fieldnames or [], columns)
            for position, row in enumerate(reader):
                location = f"line {reader.line_num}"
                yield make_record(row, position, location, columns, max_characters)
        except csv.Error as error:
            raise PropscanError(
                f"{path}:{reader.line_num}: not valid CSV ({error}); fix the file and run again"
            ) from error


def _read_parquet(path: Path, columns: Columns, max_characters: int) -> Iterator[InputRecord]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise PropscanError(f"{path}: not a readable Parquet file ({error})") from error
    available = parquet.schema_arrow.names
    _require_columns(path, available, columns)
    wanted = [columns.id, columns.text, columns.title, *columns.source, columns.date, columns.url]
    selected = [name for name in dict.fromkeys(wanted) if name in available]
    position = 0
    for batch in parquet.iter_batches(batch_size=256, columns=selected):
        for row in batch.to_pylist():
            yield make_record(row, position, f"row {position + 1}", columns, max_characters)
            position += 1


def input_kind(path: Path) -> str:
    """``folder``, ``jsonl``, ``csv`` or ``parquet``, from what ``path`` is."""
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    kinds = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
    if not path.is_file():
        raise PropscanError(f"input {str(path)!r} does not exist")
    if suffix not in kinds:
        raise PropscanError(
            f"{path}: unknown input type {suffix or '(no extension)'!r}; give a folder of .txt "
            "files or a .jsonl, .csv or .parquet file"
        )
    return kinds[suffix]


_READERS: dict[str, Callable[[Path, Columns, int], Iterator[InputRecord]]] = {
    "folder": _read_text_folder,
    "jsonl": _read_jsonl,
    "csv": _read_csv,
    "parquet": _read_parquet,
}


def read_records(
    path: str | os.PathLike[str],
    columns: Columns = Columns(),
    max_characters: int = DEFAULT_MAX_CHARACTERS,
) -> Iterator[InputRecord]:
    """The records of an input, in order; bad ones carry a ``problem`` instead of an article.

    A second record with an id already seen is a bad record too (ids key the results).
    """
    source = Path(path)
    seen: dict[str, str] = {}
    for record in _READERS[input_kind(source)](source, columns, max_characters):
        if record.article is not None and record.id is not None:
            first = seen.setdefault(record.id, record.location)
            if first != record.location:
                problem = f"duplicate id {record.id!r} (first at {first})"
                record = InputRecord(record.position, record.location, record.id, problem=problem)
        yield record


def count_records(path: str | os.PathLike[str]) -> int:
    """How many records an input holds (for the progress bar), without validating them
    (but a folder's metadata file is checked, so a malformed one fails before a run)."""
    source = Path(path)
    kind = input_kind(source)
    if kind == "folder":
        return len(_folder_files(source)[0])
    if kind == "jsonl":
        with source.open("rb") as lines:
            return sum(1 for raw in lines if raw.strip())
    if kind == "csv":
        with source.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
            return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    try:
        return pq.ParquetFile(source).metadata.num_rows
    except (pa.ArrowException, OSError) as error:
        raise PropscanError(f"{source}: not a readable Parquet file ({error})") from error
