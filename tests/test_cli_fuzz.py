"""Fuzzing the CLI's input readers: any file gives a result or a one-line error, never a traceback.

Text (``analyze``) and PTC labels (``score``, ``classify``) are fed arbitrary bytes and
structurally plausible but hostile content; ``test_cli_fuzz_batch.py`` does the same
for ``batch`` inputs and results folders.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fuzzing import WORDY_TEXT, any_text, assert_result_or_one_line_error, fuzz, scratch
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from propscan.cli import app
from propscan.core.techniques import TECHNIQUES

runner = CliRunner()
FUZZ = fuzz(25)
#: Any code point, lone surrogates included (they reach files only through escapes).
ANY_TEXT = any_text(80)
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
