"""Outlet, date, title and URL for a folder of ``.txt`` files, from a sidecar metadata CSV.

A folder of article texts says nothing about where and when each article appeared, so a
report of it could show no outlet and no trend. A file ``metadata.csv`` in the folder
gives them: one row per article, naming it by a ``file`` column (the ``.txt`` file's
name, as ``story1.txt`` or ``train-articles/article111.txt``) or an ``id`` column (the
article's id: the file name without ``.txt``, or PTC's number), with any of ``source``
(or ``outlet``), ``date`` (ISO 8601: ``2024-05-31``), ``title`` and ``url``. An empty cell
leaves that field as the folder gives it. A malformed file is one clear error naming its
line, raised before a run writes anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from propscan.errors import PropscanError
from propscan.ptc.io import decode_utf8

#: The sidecar's name inside the input folder.
METADATA_FILE = "metadata.csv"
#: Columns that name the article a row is about.
KEY_COLUMNS = ("file", "id")
#: Columns that give its metadata (``outlet`` is another name for ``source``).
FIELD_COLUMNS = ("source", "outlet", "date", "title", "url")


def folder_metadata(
    folder: Path, files: Sequence[Path], ids: Sequence[str]
) -> dict[Path, dict[str, str]]:
    """The metadata of each of ``files`` (with their article ``ids``) from the folder's
    :data:`METADATA_FILE`, keyed by file; empty when the folder has none."""
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}
    by_name = {file.relative_to(folder).as_posix(): file for file in files}
    by_id = dict(zip(ids, files, strict=True))
    found: dict[Path, dict[str, str]] = {}
    first_line: dict[Path, int] = {}
    for line, key_column, key, fields in _rows(path):
        file = (by_name if key_column == "file" else by_id).get(key)
        if file is None:
            raise PropscanError(
                f"{path}:{line}: no article {key!r} in {folder} (the {key_column!r} column "
                f"names {'a .txt file' if key_column == 'file' else 'an article id'})"
            )
        if file in found:
            raise PropscanError(
                f"{path}:{line}: {key!r} is listed twice (first on line {first_line[file]})"
            )
        found[file], first_line[file] = fields, line
    return found


def _rows(path: Path) -> list[tuple[int, str, str, dict[str, str]]]:
    """``(line, key column, key, fields)`` of every row, each field checked."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PropscanError(f"{path}: cannot read ({error.strerror})") from None
    text = decode_utf8(raw, path)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), strict=True)
    rows = []
    try:
        header = [name.strip().lower() for name in reader.fieldnames or []]
        reader.fieldnames = header
        key_column = _check_header(path, header)
        for row in reader:
            line = reader.line_num
            if None in row or None in row.values():
                raise PropscanError(
                    f"{path}:{line}: not as many cells as the header's {len(header)} columns; "
                    "quote cells that hold commas"
                )
            key = (row[key_column] or "").strip()
            if not key:
                raise PropscanError(f"{path}:{line}: empty {key_column!r}; name the article")
            rows.append((line, key_column, key, _fields(path, line, row)))
    except csv.Error as error:
        raise PropscanError(f"{path}:{reader.line_num}: not valid CSV ({error})") from None
    return rows


def _check_header(path: Path, header: Sequence[str]) -> str:
    """The key column of a sidecar's header, after checking every column is known."""
    if not header:
        raise PropscanError(f"{path}: empty; give a header line such as 'file,source,date'")
    unknown = [name for name in header if name not in KEY_COLUMNS + FIELD_COLUMNS]
    if unknown:
        raise PropscanError(
            f"{path}: unknown column {unknown[0]!r}; use 'file' or 'id', then any of "
            f"{', '.join(FIELD_COLUMNS)}"
        )
    keys = [name for name in KEY_COLUMNS if name in header]
    if len(keys) != 1:
        raise PropscanError(
            f"{path}: needs exactly one of the columns 'file' and 'id' to name each article "
            f"(columns: {', '.join(header)})"
        )
    if not set(header) & set(FIELD_COLUMNS):
        raise PropscanError(f"{path}: no metadata column; add any of {', '.join(FIELD_COLUMNS)}")
    if len(set(header)) != len(header) or {"source", "outlet"} <= set(header):
        raise PropscanError(f"{path}: a column is given twice ('outlet' is 'source' too)")
    return keys[0]


def _fields(path: Path, line: int, row: Mapping[str, str]) -> dict[str, str]:
    """The non-empty metadata cells of a row, under their canonical names."""
    fields = {
        "source" if name == "outlet" else name: value.strip()
        for name, value in row.items()
        if name in FIELD_COLUMNS and value and value.strip()
    }
    date = fields.get("date")
    if date is not None:
        try:
            datetime.fromisoformat(date)
        except ValueError:
            raise PropscanError(
                f"{path}:{line}: date {date!r} is not an ISO 8601 date; write it as YYYY-MM-DD"
            ) from None
    return fields
