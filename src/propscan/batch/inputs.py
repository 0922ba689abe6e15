"""Where the articles of a batch run come from: a folder of ``.txt`` files, JSONL, CSV or Parquet.

Every input becomes a stream of :class:`InputRecord`: an article, or the reason it
cannot be analysed (no id, empty text, not UTF-8, too long, nested too deeply, a
duplicate id, an unreadable Parquet row group), so one bad record never stops a run.
``location`` (a line, a row, a file) identifies a record. What makes a whole file
unreadable as records is refused before anything is analysed, naming the line: a CSV
quote that is never closed, a column named twice, a UTF-16 file. A UTF-8 byte-order
mark is read as the encoding marker it is.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from propscan.batch.metadata import folder_metadata
from propscan.core.checks import DEFAULT_MAX_CHARS, has_content, unicode_problem
from propscan.core.spans import Article
from propscan.errors import PropscanError, one_line
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


def _readable_id(fields: Mapping[str, Any], columns: Columns) -> str | None:
    """The record's id, for the error of a record refused whole, when it is a usable one."""
    raw_id = fields.get(columns.id)
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        return None
    record_id = str(raw_id).strip()
    return record_id if record_id and not _check_text_field("id", record_id) else None


def make_record(
    fields: Mapping[str, Any],
    position: int,
    location: str,
    columns: Columns,
    max_characters: int,
) -> InputRecord:
    """Validate one input row and turn it into an :class:`InputRecord`."""
    problem: str | None
    raw_id = fields.get(columns.id)
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        if columns.id not in fields:
            problem = f"missing id (no {columns.id!r} field)"
        elif raw_id is None:
            problem = f"missing id ({columns.id!r} is null)"
        else:
            problem = f"id {raw_id!r} is not a string or an integer"
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
    for name in (columns.title, *columns.source, columns.date, columns.url):
        if isinstance(fields.get(name), dict | list):  # no text to store, only its repr
            kind = "an object" if isinstance(fields[name], dict) else "a list"
            problem = f"{name!r} is {kind}, not text; give it as a string"
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
        title = given.get("title") or text.split("\n", 1)[0].removeprefix("\ufeff").strip() or None
        fields = {columns.id: record_id, columns.text: text, columns.title: title}
        fields |= {columns.source[0]: given.get("source"), columns.date: given.get("date")}
        fields[columns.url] = given.get("url")
        yield make_record(fields, position, location, columns, max_characters)


#: UTF-32 first: its little-endian mark begins with UTF-16's.
_WIDE_UNICODE_MARKS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}


def _refuse_wide_unicode(path: Path) -> None:
    """A UTF-16 or UTF-32 file (a spreadsheet's "Unicode text") is named as such, not misread."""
    with path.open("rb") as handle:
        start = handle.read(4)
    for mark, encoding in _WIDE_UNICODE_MARKS.items():
        if start.startswith(mark):
            raise PropscanError(
                f"{path}: the file is {encoding} (it starts with the byte-order mark "
                f"{mark.hex(' ').upper()}); save it as UTF-8 and run again"
            )


def _jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of a JSONL file with their numbers, a leading UTF-8 BOM removed."""
    _refuse_wide_unicode(path)
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            line = raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw
            if line.strip():
                yield number, line


def _parse_json_object(text: str) -> tuple[Any, list[str]]:
    """The JSON value of a line, and the keys its top-level object holds more than once."""
    duplicates: list[str] = []

    def to_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # called for each object, innermost first: the last call is the top-level object
        fields = dict(pairs)
        counts = Counter(key for key, _ in pairs) if len(fields) < len(pairs) else {}
        duplicates[:] = [key for key, count in counts.items() if count > 1]
        return fields

    value = json.loads(text, object_pairs_hook=to_dict)
    return value, duplicates if isinstance(value, dict) else []


def _read_jsonl(path: Path, columns: Columns, max_characters: int) -> Iterator[InputRecord]:
    read = set(_read_column_names(columns))
    for position, (number, raw) in enumerate(_jsonl_lines(path)):
        location = f"line {number}"
        try:
            fields, duplicates = _parse_json_object(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            problem = f"not valid UTF-8 (byte {error.start} of the line); re-encode it as UTF-8"
            yield InputRecord(position, location, None, problem=problem)
        except RecursionError:
            problem = "not readable JSON (nested too deeply); give each record as a flat object"
            yield InputRecord(position, location, None, problem=problem)
        except json.JSONDecodeError as error:  # its "line 1" would be this line's
            problem = f"not valid JSON ({error.msg} at character {error.pos + 1} of the line)"
            yield InputRecord(position, location, None, problem=problem)
        except ValueError:  # a number of more digits than Python converts
            problem = "not readable JSON (a number too long to read); give it as a string"
            yield InputRecord(position, location, None, problem=problem)
        else:
            if not isinstance(fields, dict):
                problem = f"expected a JSON object, got {type(fields).__name__}"
                yield InputRecord(position, location, None, problem=problem)
            elif twice := [name for name in duplicates if name in read]:
                problem = f"the object has field {twice[0]!r} more than once; keep one"
                yield InputRecord(
                    position, location, _readable_id(fields, columns), problem=problem
                )
            else:
                yield make_record(fields, position, location, columns, max_characters)


def _require_jsonl_fields(path: Path, columns: Columns) -> None:
    """Some record has the id field and some the text field, as a CSV file must have both
    columns: a wrong ``--text-column`` is one error, not a failure of every record."""
    wanted = {columns.id: "--id-column", columns.text: "--text-column"}
    example: tuple[int, list[str]] | None = None
    for number, raw in _jsonl_lines(path):
        try:
            fields = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if not isinstance(fields, dict):
            continue
        example = example or (number, list(fields))
        for name in [name for name in wanted if name in fields]:
            del wanted[name]
        if not wanted:
            return
    if example is not None:
        name, option = next(iter(wanted.items()))
        number, names = example
        raise PropscanError(
            f"{path}: no record has a {name!r} field (line {number} has "
            f"{', '.join(map(repr, names)) or 'none'}); name the right one with {option}"
        )


def _read_column_names(columns: Columns) -> list[str]:
    """The input fields propscan reads, each once."""
    names = [columns.id, columns.text, columns.title, *columns.source, columns.date, columns.url]
    return list(dict.fromkeys(names))


def _require_columns(where: str, available: Sequence[str], columns: Columns) -> None:
    """The id and text columns exist, and no column propscan reads is named twice.

    ``where`` names the file (and the header's line) in the error.
    """
    counts = Counter(available)
    for name in _read_column_names(columns):
        if counts[name] > 1:
            places = [str(index + 1) for index, other in enumerate(available) if other == name]
            raise PropscanError(
                f"{where}: column {name!r} appears {counts[name]} times (columns "
                f"{', '.join(places)}); rename or remove the extra one and run again"
            )
    for name, option in ((columns.id, "--id-column"), (columns.text, "--text-column")):
        if name not in available:
            raise PropscanError(
                f"{where}: no column {name!r} (columns: {', '.join(available) or 'none'}); "
                f"name the right one with {option}"
            )


def _csv_field_limit(max_characters: int) -> int:
    """The longest CSV field read: a too-long text still fails alone, as a too-long record."""
    return min(4 * max_characters + 1, sys.maxsize)


def _csv_rows(path: Path, max_characters: int) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows of a CSV file with the number of their last line.

    Quotes are read strictly, so a quote left open cannot swallow the records after it;
    a file that cannot be split into records is refused, naming the line.
    """
    _refuse_wide_unicode(path)
    limit = _csv_field_limit(max_characters)
    # utf-8-sig reads a leading BOM as the marker it is; surrogateescape keeps bad bytes
    # as lone surrogates, so one row that is not UTF-8 fails alone.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        last_line = 0
        while True:
            csv.field_size_limit(limit)  # the module's one global: set for each row read
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise PropscanError(
                    _csv_problem(path, last_line + 1, reader.line_num, str(error), limit)
                ) from error
            last_line = reader.line_num
            if fields:
                yield last_line, fields


def _csv_problem(path: Path, first: int, line: int, error: str, limit: int) -> str:
    """Why a CSV file cannot be split into records, where, and what to do."""
    if error == "unexpected end of data":
        return (
            f"{path}:{first}: a quote in the record that starts on line {first} is never "
            f"closed (the file ends inside it, on line {line}); close the quote, write a "
            'quote inside a quoted field as "", and run again'
        )
    if "field larger than field limit" in error:
        return (
            f"{path}:{first}: a field of the record that starts on line {first} is longer "
            f"than {limit:,} characters, most likely a quote that is never closed; close the "
            "quote (or split the article) and run again"
        )
    if "expected after" in error:
        return (
            f"{path}:{line}: text after the closing quote of a quoted field; write a quote "
            'inside a quoted field as "" and run again'
        )
    return f"{path}:{line}: not valid CSV ({error}); fix the file and run again"


def _csv_table(
    path: Path, columns: Columns, max_characters: int
) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header of a CSV file, checked, and its data rows."""
    rows = _csv_rows(path, max_characters)
    header_line, header = next(rows, (1, []))
    _require_columns(f"{path}:{header_line}", header, columns)
    return header, rows


def _read_csv(path: Path, columns: Columns, max_characters: int) -> Iterator[InputRecord]:
    header, rows = _csv_table(path, columns, max_characters)
    for position, (line, fields) in enumerate(rows):
        location = f"line {line}"
        if any(extra.strip() for extra in fields[len(header) :]):
            problem = (
                f"{len(fields)} fields, but the header names {len(header)} columns; "
                "quote a field that holds a comma"
            )
            record_id = _readable_id(dict(zip(header, fields, strict=False)), columns)
            yield InputRecord(position, location, record_id, problem=problem)
            continue
        fields_by_column = dict(zip(header, fields, strict=False))  # short rows: columns missing
        yield make_record(fields_by_column, position, location, columns, max_characters)


def _open_parquet(path: Path, columns: Columns) -> pq.ParquetFile:
    """A Parquet file whose footer reads and whose columns are the ones needed."""
    try:
        parquet = pq.ParquetFile(path, page_checksum_verification=True)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise PropscanError(f"{path}: not a readable Parquet file ({one_line(error)})") from error
    _require_columns(str(path), parquet.schema_arrow.names, columns)
    return parquet


def _read_parquet(path: Path, columns: Columns, max_characters: int) -> Iterator[InputRecord]:
    """Rows in order; the rows of a row group that cannot be read fail with its number."""
    parquet = _open_parquet(path, columns)
    available = parquet.schema_arrow.names
    selected = [name for name in _read_column_names(columns) if name in available]
    position = 0
    for group in range(parquet.num_row_groups):
        group_end = position + parquet.metadata.row_group(group).num_rows
        try:
            for batch in parquet.iter_batches(256, row_groups=[group], columns=selected):
                for row in batch.to_pylist():
                    yield make_record(row, position, f"row {position + 1}", columns, max_characters)
                    position += 1
        except (pa.ArrowException, OSError, ValueError) as error:
            problem = (
                f"row group {group + 1} of the file cannot be read from row {position + 1} on "
                f"({one_line(error)}); write the file again"
            )
            for unread in range(position, group_end):
                yield InputRecord(unread, f"row {unread + 1}", None, problem=problem)
            position = group_end


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


def count_records(
    path: str | os.PathLike[str],
    columns: Columns = Columns(),
    max_characters: int = DEFAULT_MAX_CHARACTERS,
) -> int:
    """How many records an input holds, each one :func:`read_records` gives.

    What would stop :func:`read_records` stops this too (no id or text column, a
    column named twice, a CSV file that cannot be split into records, a folder's
    malformed metadata file), so a run can count first and refuse a bad input before it
    writes or analyses anything.
    """
    source = Path(path)
    kind = input_kind(source)
    if kind == "folder":
        return len(_folder_files(source)[0])
    if kind == "jsonl":
        _require_jsonl_fields(source, columns)
        return sum(1 for _ in _jsonl_lines(source))
    if kind == "csv":
        return sum(1 for _ in _csv_table(source, columns, max_characters)[1])
    metadata = _open_parquet(source, columns).metadata
    return sum(metadata.row_group(group).num_rows for group in range(metadata.num_row_groups))
