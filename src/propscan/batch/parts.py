"""Result files read back and checked: a damaged part or line is named, never misread.

Parts are written whole and renamed into place, so damage comes from outside the run:
a copy cut short, a disk error, a hand edit. Every reader here either returns rows of
the table's own schema or raises :class:`~propscan.errors.InputFormatError` naming the
file (and the row or line where it is known); ``report`` stops on it with one line,
and ``batch --resume`` analyses the chunk of a damaged part again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from propscan.errors import InputFormatError, PropscanError, one_line
from propscan.files import os_reason

SPANS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("technique", pa.string()),
        ("score", pa.float64()),
        ("fragment", pa.string()),
        ("source", pa.string()),
        ("date", pa.string()),
        ("band", pa.string()),
        ("in_quote", pa.bool_()),
        ("speaker", pa.string()),
        (
            "evidence",
            pa.list_(
                pa.struct(
                    [
                        ("word", pa.string()),
                        ("start", pa.int64()),
                        ("end", pa.int64()),
                        ("score", pa.float64()),
                    ]
                )
            ),
        ),
    ]
)
ARTICLES_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("title", pa.string()),
        ("source", pa.string()),
        ("date", pa.string()),
        ("url", pa.string()),
        ("characters", pa.int64()),
        ("words", pa.int64()),
        ("sentences", pa.int64()),
        ("propaganda_sentences", pa.int64()),
        ("propaganda_sentence_share", pa.float64()),
        ("spans", pa.int64()),
        ("spans_per_1000_words", pa.float64()),
        ("article_score", pa.float64()),
        ("article_score_note", pa.string()),
        ("quoted_spans", pa.int64()),
        ("threshold", pa.float64()),
    ]
)
#: Columns added after results were first written: parts written before them read them
#: as missing values.
ADDED_COLUMNS = frozenset(
    {
        "band",
        "in_quote",
        "speaker",
        "evidence",
        "article_score",
        "article_score_note",
        "quoted_spans",
        "threshold",
    }
)
ERRORS_SCHEMA = pa.schema([("id", pa.string()), ("location", pa.string()), ("reason", pa.string())])
TABLE_SCHEMAS: dict[str, pa.Schema] = {"spans": SPANS_SCHEMA, "articles": ARTICLES_SCHEMA}

#: What redoing a damaged part takes, said with every damaged part.
REDO_ADVICE = "'propscan batch --resume' with the same input and --out analyses its chunk again"


def _python_types(arrow_type: pa.DataType) -> tuple[type, ...]:
    if pa.types.is_string(arrow_type):
        return (str,)
    if pa.types.is_boolean(arrow_type):
        return (bool,)
    if pa.types.is_list(arrow_type):
        return (list,)
    if pa.types.is_integer(arrow_type):
        return (int,)
    return (int, float)


def _type_problem(row: Mapping[str, Any], schema: pa.Schema) -> str | None:
    """A field of a JSON row whose value is not of the table's type, in words, or ``None``."""
    for field in schema:
        value = row.get(field.name)
        wrong_bool = isinstance(value, bool) != pa.types.is_boolean(field.type)
        if value is not None and (wrong_bool or not isinstance(value, _python_types(field.type))):
            return f"{field.name} is {type(value).__name__}, not {field.type}"
    return None


def _compatible(found: pa.DataType, wanted: pa.DataType) -> bool:
    """Whether a Parquet column of type ``found`` reads losslessly as ``wanted``."""
    if pa.types.is_null(found) or found == wanted:
        return True
    if pa.types.is_string(wanted):
        return pa.types.is_large_string(found) or pa.types.is_string_view(found)
    if pa.types.is_integer(wanted):
        return pa.types.is_integer(found)
    if pa.types.is_floating(wanted):
        return pa.types.is_floating(found) or pa.types.is_integer(found)
    if pa.types.is_list(wanted):  # the evidence: the same items, however the list is named
        return pa.types.is_list(found) and found.value_type == wanted.value_type
    return False  # booleans only as booleans


def _first_unusable_row(table: pa.Table, labels: Collection[str]) -> tuple[int, str] | None:
    """The first row the report cannot use (no id; a span without valid offsets, or with a
    label the run's model does not have)."""
    checks = [(pc.is_null(table["id"]), "no id")]
    if "start" in table.column_names:
        start, end = table["start"], table["end"]
        not_a_span = pc.or_kleene(pc.less(start, 0), pc.greater(start, end))
        checks.append((pc.fill_null(not_a_span, True), "its offsets are not a span"))
        technique = table["technique"]
        known = pa.array(list(labels), pa.string())
        unknown = pc.invert(pc.is_in(technique, value_set=known))
        checks.append((pc.and_(pc.is_valid(technique), unknown), "an unknown technique"))
    for mask, problem in checks:
        if pc.any(mask).as_py():
            return pc.index(mask, True).as_py(), problem
    return None


class DamagedPart(InputFormatError):
    """A part of a result table that cannot be read back whole; ``what`` says why."""

    def __init__(self, path: Path, line: int | None, what: str) -> None:
        super().__init__(path, line, f"damaged part ({what}); {REDO_ADVICE}")
        self.what = what


class DamagedErrorsLine(InputFormatError):
    """A line of ``errors.jsonl`` that is not a failed record."""

    def __init__(self, path: Path, line: int | None, what: str) -> None:
        super().__init__(
            path,
            line,
            f"not a failed record ({what}); remove the line, and "
            "'propscan batch --resume' reports that record again",
        )


Damage = Callable[[Path, int | None, str], InputFormatError]


def _json_rows(
    path: Path, schema: pa.Schema, damage: Damage
) -> tuple[list[dict[str, Any]], list[int]]:
    """The rows of a JSONL file of ``schema`` and their line numbers, each row's types checked."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PropscanError(f"{path}: cannot read the file ({os_reason(error)})") from error
    if data and not data.endswith(b"\n"):
        raise damage(path, data.count(b"\n") + 1, "cut short: the last line has no line end")
    rows, numbers = [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError) as error:
            raise damage(path, number, f"not valid JSON: {one_line(error)}") from None
        if not isinstance(row, dict):
            problem: str | None = f"expected a JSON object, got {type(row).__name__}"
        else:
            problem = _type_problem(row, schema)
        if problem:
            raise damage(path, number, problem)
        rows.append(row)
        numbers.append(number)
    return rows, numbers


def read_part(path: Path, schema: pa.Schema, labels: Collection[str]) -> pa.Table:
    """One part of the ``spans`` or ``articles`` table (Parquet or JSONL), checked; a span
    must name one of ``labels``, the techniques of the run's models."""
    if not path.is_file():
        raise DamagedPart(path, None, "not a file")
    if path.suffix == ".parquet":
        table = _read_parquet_part(path, schema)
        unusable = _first_unusable_row(table, labels)
        if unusable is not None:
            row, problem = unusable
            raise DamagedPart(path, None, f"row {row + 1} has {problem}")
        return table
    rows, numbers = _json_rows(path, schema, DamagedPart)
    try:
        table = pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowException, TypeError, ValueError) as error:
        raise DamagedPart(path, None, one_line(error)) from None
    unusable = _first_unusable_row(table, labels)
    if unusable is not None:
        row, problem = unusable
        raise DamagedPart(path, numbers[row], f"the row has {problem}")
    return table


def _read_parquet_part(path: Path, schema: pa.Schema) -> pa.Table:
    try:
        table = pq.read_table(path, page_checksum_verification=True)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise DamagedPart(path, None, one_line(error)) from None
    for field in schema:
        count = table.column_names.count(field.name)
        if not count and field.name in ADDED_COLUMNS:
            table = table.append_column(field, pa.nulls(len(table), field.type))
            continue
        if count != 1:
            problem = f"column {field.name} {'is missing' if not count else 'appears twice'}"
            raise DamagedPart(path, None, problem)
        found = table.schema.field(field.name).type
        if not _compatible(found, field.type):
            problem = f"column {field.name} is {found}, not {field.type}"
            raise DamagedPart(path, None, problem)
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowException, ValueError) as error:  # e.g. an integer too large for int64
        raise DamagedPart(path, None, one_line(error)) from None


def read_error_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of ``errors.jsonl``; a line that is not a failed record is named."""
    rows, numbers = _json_rows(path, ERRORS_SCHEMA, DamagedErrorsLine)
    for number, row in zip(numbers, rows, strict=True):
        if row.get("location") is None or row.get("reason") is None:
            raise DamagedErrorsLine(path, number, "no location or reason")
    return rows
