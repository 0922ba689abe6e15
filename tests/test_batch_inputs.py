"""Batch inputs that once aborted a run or lost records: each read, failed alone or named.

Every input here was read wrongly before: a record nested too deeply or a long CSV field
stopped the run, an unterminated quote swallowed the records after it, a column named
twice or a byte-order mark misread the file. The rule now: every record is either read
or fails alone with its location, and what makes a file unreadable as records stops the
run before anything is analysed, naming the line.
"""

from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from propscan.batch.inputs import Columns, count_records, read_records
from propscan.batch.results import read_results
from propscan.batch.run import run_batch
from propscan.errors import PropscanError
from propscan.pipeline import load_model

GOOD = "They are traitors and liars, all of them! The council met on Tuesday."
PLAIN = "They are traitors and liars. The council met on Tuesday."  # no comma: a CSV field


@pytest.fixture(scope="module")
def model(tiny_model: Path):
    return load_model(tiny_model)


def problems(path: Path, **options: object) -> list[tuple[str, str | None]]:
    """(location, problem) of every record, checking the count agrees with the records."""
    records = list(read_records(path, **options))  # type: ignore[arg-type]
    assert count_records(path) == len(records)
    return [(record.location, record.problem) for record in records]


# --- JSONL -------------------------------------------------------------------------------------


def test_a_record_nested_too_deeply_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text(
        json.dumps({"id": "a", "text": GOOD}) + "\n" + deep + "\n" + '{"id": "b", "text": "ok"}\n',
        encoding="utf-8",
    )
    found = problems(path)
    assert found[0] == ("line 1", None) and found[2] == ("line 3", None)
    assert found[1][0] == "line 2" and "nested too deeply" in (found[1][1] or "")


def test_a_jsonl_byte_order_mark_is_read_as_the_encoding_marker(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps({"id": "a", "text": GOOD}).encode() + b"\n")
    records = list(read_records(path))
    assert records[0].article is not None and records[0].article.text == GOOD


def test_a_jsonl_record_with_a_field_twice_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"id": "a", "text": "first", "text": "second"}\n'
        '{"id": "b", "text": "fine", "meta": {"k": 1, "k": 2}, "extra": 1, "extra": 2}\n',
        encoding="utf-8",
    )
    found = problems(path)
    assert found[0] == ("line 1", "the object has field 'text' more than once; keep one")
    assert found[1] == ("line 2", None)  # fields propscan does not read may repeat


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_utf16_or_utf32_file_is_named_as_such(tmp_path: Path, encoding: str, suffix: str) -> None:
    path = tmp_path / f"in{suffix}"
    path.write_text("id,text\na,hello\n", encoding=encoding)
    with pytest.raises(PropscanError, match=rf"the file is {encoding.upper()}.*save it as UTF-8"):
        list(read_records(path))


# --- CSV ---------------------------------------------------------------------------------------


def test_a_csv_field_over_the_csv_module_default_is_analysed(tmp_path: Path, model) -> None:
    csv.field_size_limit(131_072)  # the module's default, as in a fresh process
    text = (GOOD + " ") * (140_000 // len(GOOD))
    assert 131_072 < len(text) < 200_000
    path = tmp_path / "in.csv"
    path.write_text(f'id,text\nlong,"{text}"\nshort,{PLAIN}\n', encoding="utf-8")
    summary = run_batch(path, tmp_path / "out", model=model, progress=False)
    assert (summary.done, summary.failed) == (2, 0)
    assert read_results(tmp_path / "out").articles.column("characters").to_pylist()[0] == len(text)


def test_a_csv_field_over_the_text_limit_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(f'id,text\nlong,"{"a" * 300}"\nshort,{PLAIN}\n', encoding="utf-8")
    found = problems(path, max_characters=100)
    assert found[0][1] is not None and "too long: 300 characters" in found[0][1]
    assert found[1] == ("line 3", None)


def test_an_unterminated_quote_stops_the_run_before_anything_is_analysed(
    tmp_path: Path, model
) -> None:
    path = tmp_path / "in.csv"
    path.write_text('id,text\nc1,"They are traitors\nc2,ok\n', encoding="utf-8")
    message = r"in\.csv:2: a quote in the record that starts on line 2 is never closed"
    with pytest.raises(PropscanError, match=message):
        count_records(path)
    with pytest.raises(PropscanError, match=message):
        run_batch(path, tmp_path / "out", model=model, progress=False)
    assert not (tmp_path / "out").exists()


def test_text_after_a_closing_quote_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('id,text\nc1,ok\nc2,"He said "hi" to me"\n', encoding="utf-8")
    with pytest.raises(PropscanError, match=r"in\.csv:3: text after the closing quote"):
        count_records(path)


def test_a_csv_field_far_over_any_text_is_named_as_a_likely_open_quote(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('id,text\nc1,ok\nc2,"' + "x" * 500 + '"\n', encoding="utf-8")
    with pytest.raises(PropscanError, match=r"in\.csv:3: .* longer than 401 characters"):
        count_records(path, max_characters=100)


def test_a_column_named_twice_is_refused(tmp_path: Path, model) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,text,text\nc1,first,second\n", encoding="utf-8")
    with pytest.raises(PropscanError, match=r"in\.csv:1: column 'text' appears 2 times"):
        list(read_records(path))
    with pytest.raises(PropscanError, match="appears 2 times"):
        run_batch(path, tmp_path / "out", model=model, progress=False)
    assert not (tmp_path / "out").exists()
    unread = tmp_path / "unread.csv"
    unread.write_text("id,text,note,note\nc1,first,a,b\n", encoding="utf-8")
    assert problems(unread) == [("line 2", None)]


def test_a_csv_byte_order_mark_is_read_as_the_encoding_marker(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(codecs.BOM_UTF8 + f"id,text\nc1,{PLAIN}\n".encode())
    records = list(read_records(path))
    assert records[0].article is not None and records[0].article.id == "c1"


def test_a_row_with_more_fields_than_the_header_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,text\nc1,He said, they lie\nc2,fine,\n\nc3,also fine\n", encoding="utf-8")
    found = problems(path)
    assert found[0] == (
        "line 2",
        "3 fields, but the header names 2 columns; quote a field that holds a comma",
    )
    assert found[1:] == [("line 3", None), ("line 5", None)]  # an empty extra field is fine
    assert next(read_records(path)).id == "c1"  # its errors.jsonl line names the record


# --- Parquet -----------------------------------------------------------------------------------


def damaged_parquet(path: Path) -> Path:
    """Three row groups of 100 rows; the second one's text column overwritten with junk."""
    ids = [f"r{n}" for n in range(300)]
    table = pa.table({"id": ids, "text": [f"{GOOD} {n}" for n in range(300)]})
    pq.write_table(table, path, row_group_size=100, compression="none", write_page_checksum=True)
    column = pq.ParquetFile(path).metadata.row_group(1).column(1)
    data = bytearray(path.read_bytes())
    start = column.data_page_offset
    data[start : start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    return path


def test_a_parquet_row_group_that_cannot_be_read_fails_its_rows(tmp_path: Path) -> None:
    found = problems(damaged_parquet(tmp_path / "in.parquet"))
    assert [location for location, _ in found] == [f"row {n}" for n in range(1, 301)]
    failed = [n for n, (_, problem) in enumerate(found, start=1) if problem]
    assert failed == list(range(101, 201))
    reason = found[100][1] or ""
    assert reason.startswith("row group 2 of the file cannot be read from row 101 on (")
    assert "\n" not in reason


def test_a_parquet_column_named_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    arrays = [pa.array(["a"]), pa.array(["one"]), pa.array(["two"])]
    pq.write_table(pa.Table.from_arrays(arrays, names=["id", "text", "text"]), path)
    with pytest.raises(PropscanError, match=r"in\.parquet: column 'text' appears 2 times"):
        list(read_records(path))


def test_every_kind_of_input_counts_the_records_it_reads(tmp_path: Path) -> None:
    csv_path = tmp_path / "in.csv"
    csv_path.write_text('id,text\n\na,"two\n\nlines"\n\nb,x\n', encoding="utf-8")
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_bytes(codecs.BOM_UTF8 + b"\n" + b'{"id": 1}\n \n[]\n{"id": 2, "text": "x"}\n')
    for path in (csv_path, jsonl):
        problems(path)
    assert [r.location for r in read_records(csv_path, Columns())] == ["line 5", "line 7"]
