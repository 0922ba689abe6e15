"""Fuzzing the CLI's input readers: any file gives a result or a one-line error, never a traceback.

Text (``analyze``), JSONL, CSV and Parquet (``batch``) and PTC labels (``score``) are
fed arbitrary bytes and structurally plausible but hostile content.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fuzzing import any_text, fuzz
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from propscan.cli import app
from propscan.core.techniques import TECHNIQUES

runner = CliRunner()
FUZZ = fuzz(25)
#: Any code point, lone surrogates included (they reach files only through escapes).
ANY_TEXT = any_text(80)
WORDY_TEXT = st.text(
    st.sampled_from(list("They are liars and traitors! \n\t\x00\u200b\u00e9\U0001f642")),
    max_size=120,
)
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


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="propscan-fuzz-"))


def assert_result_or_one_line_error(result: Result) -> None:
    """Exit 0, or exit 2 with exactly one ``Error:`` line; never a traceback."""
    assert "Traceback" not in result.output, result.output
    if result.exit_code == 0:
        return
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output


def run_batch(source: Path, model: Path, *extra: str) -> Result:
    out = source.parent / "results"
    args = ["batch", str(source), "--out", str(out), "--model", str(model), "--format", "jsonl"]
    result = runner.invoke(app, [*args, "--no-progress", *extra])
    assert_result_or_one_line_error(result)
    if result.exit_code == 0:
        errors = out / "errors.jsonl"
        rows = errors.read_text(encoding="utf-8").split("\n") if errors.exists() else []
        assert all(json.loads(row)["reason"] for row in rows if row)
    return result


# --- article text -----------------------------------------------------------------------------


@FUZZ
@given(content=st.one_of(st.binary(max_size=400), WORDY_TEXT.map(lambda t: t.encode("utf-8"))))
def test_analyze_reads_any_file(tiny_model: Path, content: bytes) -> None:
    path = scratch() / "article.txt"
    path.write_bytes(content)
    result = runner.invoke(
        app, ["analyze", str(path), "--model", str(tiny_model), "--format", "json"]
    )
    assert_result_or_one_line_error(result)
    if result.exit_code == 0:
        analysis = json.loads(result.stdout)
        assert analysis["text"] == content.decode("utf-8")


@FUZZ
@given(content=st.binary(max_size=400))
def test_analyze_reads_any_standard_input(tiny_model: Path, content: bytes) -> None:
    result = runner.invoke(
        app, ["analyze", "-", "--model", str(tiny_model), "--format", "ptc"], input=content
    )
    assert_result_or_one_line_error(result)


# --- JSONL, CSV, Parquet ------------------------------------------------------------------------


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            st.binary(max_size=60),
            RECORDS.map(lambda rs: json.dumps(rs[0] if rs else {}).encode()),
            VALUES.map(lambda value: json.dumps(value).encode()),
        ),
        max_size=5,
    )
)
def test_batch_reads_any_jsonl(tiny_model: Path, lines: list[bytes]) -> None:
    source = scratch() / "corpus.jsonl"
    source.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines))
    run_batch(source, tiny_model)


@FUZZ
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.lists(st.lists(st.one_of(ANY_TEXT, WORDY_TEXT), min_size=1, max_size=4), max_size=5),
    )
)
def test_batch_reads_any_csv(tiny_model: Path, content: bytes | list[list[str]]) -> None:
    source = scratch() / "corpus.csv"
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            ["id", "text", "title", "source"][: max(len(r) for r in content or [[1, 2]])]
        )
        writer.writerows(content)
        source.write_bytes(buffer.getvalue().encode("utf-8", "surrogatepass"))
    run_batch(source, tiny_model)


def _column(values: list[Any]) -> pa.Array:
    """An Arrow column of whatever type the values allow (strings as a last resort)."""
    if not any(isinstance(value, dict) for value in values):  # empty structs cannot be written
        try:
            return pa.array(values)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            pass
    return pa.array([None if value is None else repr(value) for value in values])


@FUZZ
@given(
    records=RECORDS, as_bytes=st.booleans(), garbage=st.one_of(st.none(), st.binary(max_size=200))
)
def test_batch_reads_any_parquet(
    tiny_model: Path, records: list[dict[str, Any]], as_bytes: bool, garbage: bytes | None
) -> None:
    source = scratch() / "corpus.parquet"
    if garbage is not None:
        source.write_bytes(b"PAR1" + garbage)
    else:
        names = ["id", "text", "title", "source"]
        columns = {name: [record.get(name) for record in records] for name in names}
        if as_bytes:
            columns["text"] = [
                v.encode("utf-8", "surrogatepass") if isinstance(v, str) else None
                for v in columns["text"]
            ]
        pq.write_table(
            pa.table({name: _column(values) for name, values in columns.items()}), source
        )
    run_batch(source, tiny_model)


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
    for stem, content in zip(stems, texts, strict=False):
        if stem not in (".", ".."):
            (folder / f"{stem}.txt").write_bytes(content)
    run_batch(folder, tiny_model)


# --- PTC labels ---------------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(min_value=-5, max_value=400).map(str),
    st.integers(min_value=2**62, max_value=2**80).map(str),
    st.sampled_from(["", "1e3", "٣", "0x10", "NaN", " 7", "+4"]),
)
LABEL_LINES = st.one_of(
    st.tuples(st.sampled_from(["111", "222", "x"]), NUMBERS, NUMBERS).map("\t".join),
    st.tuples(
        st.sampled_from(["111", "222"]),
        st.one_of(st.sampled_from(TECHNIQUES), ANY_TEXT.filter(lambda t: "\n" not in t)),
        NUMBERS,
        NUMBERS,
    ).map("\t".join),
    ANY_TEXT,
)


def _labels(lines: list[str] | bytes) -> bytes:
    if isinstance(lines, bytes):
        return lines
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@FUZZ
@given(
    task=st.sampled_from(["si", "tc", "flc"]),
    gold=st.one_of(st.lists(LABEL_LINES, max_size=5), st.binary(max_size=100)),
    pred=st.one_of(st.lists(LABEL_LINES, max_size=5), st.binary(max_size=100)),
)
def test_score_reads_any_labels(
    task: str, gold: list[str] | bytes, pred: list[str] | bytes
) -> None:
    folder = scratch()
    (folder / "gold.labels").write_bytes(_labels(gold))
    (folder / "pred.labels").write_bytes(_labels(pred))
    result = runner.invoke(
        app,
        [
            "score",
            task,
            "--gold",
            str(folder / "gold.labels"),
            "--pred",
            str(folder / "pred.labels"),
            "--format",
            "json",
        ],
    )
    assert_result_or_one_line_error(result)


@pytest.fixture(scope="module")
def one_article(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("articles")
    (folder / "article111.txt").write_text(
        "They are liars and traitors, all of them!\n", encoding="utf-8"
    )
    return folder


@FUZZ
@given(spans=st.one_of(st.lists(LABEL_LINES, max_size=4), st.binary(max_size=100)))
def test_classify_reads_any_span_file(
    tiny_model: Path, one_article: Path, spans: list[str] | bytes
) -> None:
    folder = scratch()
    (folder / "spans.labels").write_bytes(_labels(spans))
    result = runner.invoke(
        app,
        [
            "classify", "--articles", str(one_article), "--spans", str(folder / "spans.labels"),
            "--out", str(folder / "out.labels"), "--model", str(tiny_model), "--no-progress",
        ],
    )  # fmt: skip
    assert_result_or_one_line_error(result)
