"""Result files read back: a damaged part or ``errors.jsonl`` line is named, never misread."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from propscan.batch.parts import (
    SPANS_SCHEMA,
    DamagedErrorsLine,
    DamagedPart,
    read_error_rows,
    read_part,
)
from propscan.core.techniques import PTC_14

SPAN = {
    "id": "a",
    "start": 0,
    "end": 4,
    "technique": "Loaded_Language",
    "score": 0.9,
    "fragment": "They",
    "source": None,
    "date": None,
    "band": "strong",
    "in_quote": False,
    "speaker": None,
    "evidence": [{"word": "They", "start": 0, "end": 4, "score": 0.8}],
}


def write_spans_part(path: Path, rows: list[dict[str, object]]) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows, schema=SPANS_SCHEMA), path)
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_a_sound_part_reads_back(tmp_path: Path, suffix: str) -> None:
    path = write_spans_part(tmp_path / f"part-000000{suffix}", [SPAN, {**SPAN, "start": 1}])
    assert read_part(path, SPANS_SCHEMA, PTC_14).to_pylist() == [SPAN, {**SPAN, "start": 1}]


def test_a_truncated_parquet_part_is_named(tmp_path: Path) -> None:
    path = write_spans_part(tmp_path / "part-000003.parquet", [SPAN])
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(DamagedPart, match=r"part-000003\.parquet: damaged part \(") as caught:
        read_part(path, SPANS_SCHEMA, PTC_14)
    assert "\n" not in str(caught.value) and "--resume" in str(caught.value)


@pytest.mark.parametrize(
    ("column", "values", "problem"),
    [
        ("start", pa.array(["0"]), "column start is string, not int64"),
        ("end", pa.array([4.0]), "column end is double, not int64"),
        ("in_quote", pa.array([0.5]), "column in_quote is double, not bool"),
        ("evidence", pa.array([[1]]), "column evidence is list<element: int64>, not list<"),
    ],
)
def test_a_parquet_part_with_a_wrong_column_type_is_named(
    tmp_path: Path, column: str, values: pa.Array, problem: str
) -> None:
    table = pa.Table.from_pylist([SPAN], schema=SPANS_SCHEMA)
    table = table.set_column(SPANS_SCHEMA.get_field_index(column), column, values)
    path = tmp_path / "part-000000.parquet"
    pq.write_table(table, path)
    with pytest.raises(DamagedPart, match=problem):
        read_part(path, SPANS_SCHEMA, PTC_14)


def test_a_parquet_part_of_compatible_types_reads_as_the_schema(tmp_path: Path) -> None:
    table = pa.Table.from_pylist([SPAN], schema=SPANS_SCHEMA)
    table = table.set_column(0, "id", pa.array(["a"], pa.large_string()))
    table = table.set_column(1, "start", pa.array([0], pa.int32()))
    path = tmp_path / "spans.parquet"
    pq.write_table(table, path)
    assert read_part(path, SPANS_SCHEMA, PTC_14).to_pylist() == [SPAN]


def test_a_parquet_part_whose_values_do_not_fit_the_schema_is_named(tmp_path: Path) -> None:
    table = pa.Table.from_pylist([SPAN], schema=SPANS_SCHEMA)
    table = table.set_column(1, "start", pa.array([2**63], pa.uint64()))
    path = tmp_path / "part-000000.parquet"
    pq.write_table(table, path)
    with pytest.raises(DamagedPart, match=r"part-000000\.parquet: damaged part \(.*not in range"):
        read_part(path, SPANS_SCHEMA, PTC_14)


def test_a_parquet_part_without_a_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "part-000000.parquet"
    pq.write_table(pa.table({"id": ["a"], "start": [0]}), path)
    with pytest.raises(DamagedPart, match="column end is missing"):
        read_part(path, SPANS_SCHEMA, PTC_14)


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        (json.dumps(SPAN) + "\n" + json.dumps(SPAN)[:30], 2, "cut short"),
        ("[1, 2]\n", 1, "expected a JSON object, got list"),
        ("garbage\n", 1, "not valid JSON"),
        (json.dumps({**SPAN, "start": "0"}) + "\n", 1, "start is str, not int64"),
        (json.dumps({**SPAN, "end": True}) + "\n", 1, "end is bool, not int64"),
        (json.dumps(SPAN) + "\n" + json.dumps({**SPAN, "id": None}) + "\n", 2, "no id"),
        (json.dumps({**SPAN, "start": 5}) + "\n", 1, "offsets are not a span"),
        (json.dumps({**SPAN, "technique": "Bogus"}) + "\n", 1, "an unknown technique"),
    ],
)
def test_a_damaged_jsonl_part_is_named_with_its_line(
    tmp_path: Path, content: str, line: int, problem: str
) -> None:
    path = tmp_path / "part-000001.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DamagedPart, match=rf"part-000001\.jsonl:{line}: damaged part.*{problem}"):
        read_part(path, SPANS_SCHEMA, PTC_14)


def test_a_folder_in_place_of_a_part_is_damaged(tmp_path: Path) -> None:
    (tmp_path / "part-000000.parquet").mkdir()
    with pytest.raises(DamagedPart, match="not a file"):
        read_part(tmp_path / "part-000000.parquet", SPANS_SCHEMA, PTC_14)


ERROR_ROW = {"id": "x", "location": "line 3", "reason": "empty text"}


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        ('{"id": "x", "loc', "not valid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ("garbage", "not valid JSON"),
        ('{"id": "x", "reason": "empty text"}', "no location or reason"),
        ('{"id": 7, "location": "line 1", "reason": "r"}', "id is int, not string"),
    ],
)
def test_a_damaged_errors_line_is_named(tmp_path: Path, bad_line: str, problem: str) -> None:
    path = tmp_path / "errors.jsonl"
    path.write_text(json.dumps(ERROR_ROW) + "\n" + bad_line + "\n", encoding="utf-8")
    with pytest.raises(
        DamagedErrorsLine, match=rf"errors\.jsonl:2: not a failed record.*{problem}"
    ):
        read_error_rows(path)


def test_errors_rows_read_back(tmp_path: Path) -> None:
    path = tmp_path / "errors.jsonl"
    path.write_text(json.dumps(ERROR_ROW) + "\n\n" + json.dumps({**ERROR_ROW, "id": None}) + "\n")
    assert read_error_rows(path) == [ERROR_ROW, {**ERROR_ROW, "id": None}]
