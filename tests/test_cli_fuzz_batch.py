"""Fuzzing ``batch`` with malformed inputs, and ``report``/``--resume`` with damaged results.

Every run exits 0 or 2 with one ``Error:`` line, never 1. A run that finishes accounts
for every input record once: records in = analysed + failed, each failure in
``errors.jsonl`` with its location, and a ``--resume`` right after it skips them all.
A damaged results folder is named by ``report`` and ``--resume``, or ``--resume`` redoes
the damage; once a resume finishes, the report reads the folder and every record is
accounted for once again.
"""

from __future__ import annotations

import codecs
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fuzzing import WORDY_TEXT, any_text, assert_result_or_one_line_error, fuzz, scratch
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from propscan.batch.inputs import count_records
from propscan.batch.results import read_results
from propscan.cli import app
from propscan.errors import PropscanError

runner = CliRunner()
FUZZ = fuzz(25)
ANY_TEXT = any_text(80)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    ANY_TEXT,
    WORDY_TEXT,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
RECORDS = st.lists(
    st.fixed_dictionaries(
        {"id": VALUES, "text": VALUES}, optional={"title": VALUES, "source": VALUES}
    ),
    max_size=4,
)
#: What breaks careless CSV readers: quotes, a field longer than the csv module allows.
CELLS = st.one_of(
    ANY_TEXT,
    WORDY_TEXT,
    st.sampled_from(['"', 'a "quoted" word', '""', ",", "\ufeffid", "x" * 140_000]),
)


def batch(source: Path, out: Path, model: Path, *extra: str) -> Result:
    args = ["batch", str(source), "--out", str(out), "--model", str(model), "--no-progress"]
    result = runner.invoke(app, [*args, *extra])
    assert_result_or_one_line_error(result)
    return result


def accounted(out: Path) -> int:
    """Articles plus failed records of a results folder, each id and location once."""
    tables = read_results(out)
    ids = tables.articles.column("id").to_pylist()
    errors = tables.errors.to_pylist()
    assert len(ids) == len(set(ids))
    assert len({row["location"] for row in errors}) == len(errors)
    assert all(row["location"] and row["reason"] for row in errors)
    return len(ids) + len(errors)


def counted(source: Path) -> int | None:
    """The records ``batch`` counts in an input of unknown shape, ``None`` if it refuses it."""
    try:
        return count_records(source)
    except PropscanError:
        return None


def check_batch(source: Path, model: Path, records: int | None, *, may_refuse: bool) -> None:
    """Run ``batch``; a finished run accounts for ``records`` (if known) and resumes to none."""
    out = source.parent / "results"
    result = batch(source, out, model, "--format", "jsonl")
    if records is None:
        assert result.exit_code == 2, result.output
        assert not out.exists()  # refused before anything was written
        return
    assert result.exit_code == 0 or may_refuse, result.output
    if result.exit_code == 0:
        assert accounted(out) == records
        again = batch(source, out, model, "--format", "jsonl", "--resume")
        assert again.exit_code == 0, again.output
        assert f"0 analysed, {records} skipped, 0 failed" in again.output


# --- JSONL -------------------------------------------------------------------------------------

JSON_LINES = st.one_of(
    st.binary(max_size=60).map(lambda line: line.replace(b"\n", b" ")),
    RECORDS.map(lambda records: json.dumps(records[0] if records else {}).encode()),
    VALUES.map(lambda value: json.dumps(value).encode()),
    st.integers(min_value=1, max_value=100_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.sampled_from(
        [
            b'{"id": "twice", "text": "They lie.", "text": "They lie again."}',
            b'{"id": "nested", "text": "They lie.", "meta": {"a": 1, "a": 2}}',
            b"   ",
        ]
    ),
)


@FUZZ
@given(
    lines=st.lists(JSON_LINES, max_size=5),
    line_end=st.sampled_from([b"\n", b"\r\n"]),
    byte_order_mark=st.booleans(),
)
def test_batch_reads_any_jsonl(
    tiny_model: Path, lines: list[bytes], line_end: bytes, byte_order_mark: bool
) -> None:
    start = codecs.BOM_UTF8 if byte_order_mark else b""
    source = scratch() / "corpus.jsonl"
    source.write_bytes(start + line_end.join(lines))
    first = (start + lines[0]).removeprefix(codecs.BOM_UTF8) if lines else b""
    records = sum(1 for line in [first, *lines[1:]] if line.strip())
    objects = [value for line in [first, *lines[1:]] if isinstance(value := _object(line), dict)]
    # refused only as a CSV file without the id or text column is
    no_field = any(all(name not in value for value in objects) for name in ("id", "text"))
    check_batch(source, tiny_model, records, may_refuse=bool(objects) and no_field)


def _object(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


# --- CSV ---------------------------------------------------------------------------------------


def _csv_field(value: str) -> str:
    """``value`` as RFC 4180 writes it: quoted when it holds a comma, quote or line end."""
    if any(char in value for char in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, int | None]:
    """A CSV file, and the records it holds (``None``: it cannot be split into records)."""
    header = ["id", "text", *draw(st.lists(st.sampled_from(["title", "note", "text"]), max_size=2))]
    rows = draw(st.lists(st.lists(CELLS, min_size=1, max_size=len(header) + 1), max_size=4))
    line_end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [",".join(map(_csv_field, row)) for row in [header, *rows]]
    # a row of one empty field is written "", as an empty line would hold no record
    lines = [line or '""' for line in lines]
    ends = draw(
        st.lists(
            st.sampled_from([line_end, line_end * 2]), min_size=len(lines), max_size=len(lines)
        )
    )
    text = "".join(line + end for line, end in zip(lines, ends, strict=True))  # blank lines too
    never_closed = draw(st.booleans())
    if never_closed:
        text += f'late,"a quote that is never closed{line_end}last,row{line_end}'
    start = "\ufeff" if draw(st.booleans()) else ""
    named_twice = any(header.count(name) > 1 for name in ("text", "title"))
    content = (start + text).encode("utf-8", "surrogatepass")
    return content, None if never_closed or named_twice else len(rows)


@FUZZ
@given(csv_file=csv_files(), garbage=st.one_of(st.none(), st.binary(max_size=300)))
def test_batch_reads_any_csv(
    tiny_model: Path, csv_file: tuple[bytes, int | None], garbage: bytes | None
) -> None:
    source = scratch() / "corpus.csv"
    if garbage is not None:
        source.write_bytes(garbage)
        check_batch(source, tiny_model, counted(source), may_refuse=True)
        return
    content, records = csv_file
    source.write_bytes(content)
    check_batch(source, tiny_model, records, may_refuse=False)


# --- Parquet -----------------------------------------------------------------------------------


def _column(values: list[Any]) -> pa.Array:
    """An Arrow column of whatever type the values allow (strings as a last resort)."""
    if not any(isinstance(value, dict) for value in values):  # empty structs cannot be written
        try:
            return pa.array(values)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            pass
    return pa.array([None if value is None else repr(value) for value in values])


def _parquet_table(records: list[dict[str, Any]], as_bytes: bool) -> pa.Table:
    names = ["id", "text", "title", "source"]
    columns = {name: [record.get(name) for record in records] for name in names}
    if as_bytes:
        columns["text"] = [
            v.encode("utf-8", "surrogatepass") if isinstance(v, str) else None
            for v in columns["text"]
        ]
    return pa.table({name: _column(values) for name, values in columns.items()})


def _damage_pages(path: Path, where: float, junk: bytes) -> None:
    """Overwrite bytes among the pages (between the leading magic and the footer)."""
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    pages_end = len(data) - footer
    if pages_end > 4 and junk:
        at = 4 + int(where * (pages_end - 4 - 1))
        junk = junk[: pages_end - at]
        data[at : at + len(junk)] = junk
        path.write_bytes(bytes(data))


@FUZZ
@given(
    records=RECORDS,
    as_bytes=st.booleans(),
    row_group_size=st.integers(min_value=1, max_value=3),
    damage=st.one_of(st.none(), st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=16))),
    garbage=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_batch_reads_any_parquet(
    tiny_model: Path,
    records: list[dict[str, Any]],
    as_bytes: bool,
    row_group_size: int,
    damage: tuple[float, bytes] | None,
    garbage: bytes | None,
) -> None:
    source = scratch() / "corpus.parquet"
    if garbage is not None:
        source.write_bytes(b"PAR1" + garbage)
        check_batch(source, tiny_model, counted(source), may_refuse=True)
        return
    table = _parquet_table(records, as_bytes)
    pq.write_table(table, source, row_group_size=row_group_size)
    if damage is not None:
        _damage_pages(source, *damage)
    check_batch(source, tiny_model, len(records), may_refuse=False)


# --- text folders ------------------------------------------------------------------------------


@FUZZ
@given(
    stems=st.lists(
        st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=12),
        min_size=1,
        max_size=3,
        unique=True,
    ),
    texts=st.lists(st.binary(max_size=200), min_size=1, max_size=3),
)
def test_batch_reads_any_folder(tiny_model: Path, stems: list[str], texts: list[bytes]) -> None:
    folder = scratch() / "articles"
    folder.mkdir()
    written = 0
    for stem, content in zip(stems, texts, strict=False):
        if stem not in (".", ".."):
            (folder / f"{stem}.txt").write_bytes(content)
            written += 1
    check_batch(folder, tiny_model, written, may_refuse=written == 0)


# --- damaged results folders -------------------------------------------------------------------

CORPUS = [
    *({"id": f"a{n}", "text": f"Article {n}: they are traitors and liars! A calm line."}
      for n in range(5)),
    {"id": "blank", "text": " "},
    {"id": "a1", "text": "The same id again."},
]  # fmt: skip
DAMAGES = ("truncate", "overwrite", "append line", "insert line", "delete", "replace")
LINES = st.one_of(
    st.binary(max_size=40).map(lambda line: line.replace(b"\n", b" ")),
    VALUES.map(lambda value: json.dumps(value).encode()),
    st.sampled_from([b"[1, 2]", b"{}", b'{"id": "x", "loc']),
)


@pytest.fixture(scope="module")
def finished_runs(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A finished run of CORPUS in chunks of two, per results format."""
    folder = tmp_path_factory.mktemp("finished")
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(record) + "\n" for record in CORPUS), encoding="utf-8")
    runs = {}
    for result_format in ("parquet", "jsonl"):
        out = folder / result_format
        result = batch(corpus, out, tiny_model, "--format", result_format, "--chunk-size", "2")
        assert result.exit_code == 0, result.output
        runs[result_format] = out
    return runs


def _damage(path: Path, damage: str, where: float, line: bytes) -> None:
    data = path.read_bytes()
    at = int(where * len(data))
    if damage == "truncate":
        path.write_bytes(data[:at])
    elif damage == "overwrite" and path.suffix == ".parquet":  # checksummed pages
        path.write_bytes(data[:at] + line[:16] + data[at + len(line[:16]) :])
    elif damage in ("append line", "overwrite"):
        path.write_bytes(data + line + b"\n")
    elif damage == "insert line":
        starts = [0, *(n + 1 for n, byte in enumerate(data) if byte == ord("\n"))]
        cut = starts[int(where * (len(starts) - 1))]
        path.write_bytes(data[:cut] + line + b"\n" + data[cut:])
    elif damage == "delete":
        path.unlink()
    else:
        path.write_bytes(line)


@FUZZ
@given(
    result_format=st.sampled_from(["parquet", "jsonl"]),
    data=st.data(),
    damage=st.sampled_from(DAMAGES),
    where=st.floats(0, 1),
    line=LINES,
)
def test_report_and_resume_name_or_redo_any_damage(
    tiny_model: Path,
    finished_runs: dict[str, Path],
    result_format: str,
    data: st.DataObject,
    damage: str,
    where: float,
    line: bytes,
) -> None:
    out = scratch() / "results"
    shutil.copytree(finished_runs[result_format], out)
    files = sorted(path for path in out.rglob("*") if path.is_file())
    target = data.draw(st.sampled_from(files), label="file")
    _damage(target, damage, where, line)

    report = runner.invoke(app, ["report", str(out), "--format", "json"])
    assert_result_or_one_line_error(report)

    corpus = finished_runs[result_format].parent / "corpus.jsonl"
    resume = batch(
        corpus, out, tiny_model, "--format", result_format, "--chunk-size", "2", "--resume"
    )
    if resume.exit_code == 0:
        assert accounted(out) == len(CORPUS)
        after = runner.invoke(app, ["report", str(out), "--format", "json"])
        assert after.exit_code == 0, after.output
