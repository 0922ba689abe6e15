"""Resuming: damaged parts are redone, damage is named, finished rows are never lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from propscan.batch import results as result_tables
from propscan.batch.parts import ARTICLES_SCHEMA, read_part
from propscan.batch.results import read_results
from propscan.batch.run import run_batch
from propscan.cli import app
from propscan.core.techniques import PTC_14
from propscan.pipeline import load_model

runner = CliRunner()
TEXT = "Article {n}: they are traitors and liars, all of them! The council met on Tuesday."


@pytest.fixture(scope="module")
def model(tiny_model: Path):
    return load_model(tiny_model)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve articles and one empty record: four chunks of three, and one error row."""
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    records = [{"id": f"a{n}", "text": TEXT.format(n=n)} for n in range(12)]
    records.insert(4, {"id": "blank", "text": " "})
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def batch(corpus: Path, out: Path, model, result_format: str = "parquet", **options: object):
    return run_batch(
        corpus,
        out,
        model=model,
        chunk_size=3,
        result_format=result_format,  # type: ignore[arg-type]
        progress=False,
        **options,  # type: ignore[arg-type]
    )


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def retype_words(path: Path) -> None:
    table = pq.read_table(path)
    index = table.schema.get_field_index("words")
    words = pa.array([str(value) for value in table["words"].to_pylist()])
    pq.write_table(table.set_column(index, "words", words), path)


def cut_jsonl(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-20])


DAMAGES: dict[str, tuple[str, str, Callable[[Path], None]]] = {
    "truncated spans part": ("parquet", "spans.parquet/part-000002.parquet", truncate),
    "articles part of the wrong type": (
        "parquet",
        "articles.parquet/part-000001.parquet",
        retype_words,
    ),
    "jsonl part cut short": ("jsonl", "spans.jsonl/part-000003.jsonl", cut_jsonl),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_resume_redoes_a_damaged_part(tmp_path: Path, corpus: Path, model, damage: str) -> None:
    result_format, part, spoil = DAMAGES[damage]
    whole = tmp_path / "whole"
    batch(corpus, whole, model, result_format)
    out = tmp_path / "out"
    batch(corpus, out, model, result_format)
    spoil(out / part)

    result = runner.invoke(app, ["report", str(out), "--format", "json"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: {out / part}") and result.output.count("\n") == 1

    summary = batch(corpus, out, model, result_format, resume=True)
    assert len(summary.damaged) == 1 and summary.damaged[0].startswith(f"{out / part} (")
    articles_part = whole / part.replace("spans", "articles")
    assert summary.done == read_part(articles_part, ARTICLES_SCHEMA, PTC_14).num_rows
    assert summary.failed == 0
    assert "analysed again the chunks of 1 damaged part" in summary.describe(out)
    final, expected = read_results(out), read_results(whole)
    assert final.spans.to_pylist() == expected.spans.to_pylist()
    assert final.articles.to_pylist() == expected.articles.to_pylist()
    assert final.errors.to_pylist() == expected.errors.to_pylist()


@pytest.mark.parametrize(
    "bad_line", ['{"id": "x", "loc', "[1, 2]", "garbage", '{"location": 5, "reason": "r"}']
)
def test_a_damaged_errors_line_stops_report_and_resume_naming_it(
    tmp_path: Path, corpus: Path, model, tiny_model: Path, bad_line: str
) -> None:
    out = tmp_path / "out"
    batch(corpus, out, model)
    errors = out / "errors.jsonl"
    errors.write_text(bad_line + "\n" + errors.read_text(encoding="utf-8"), encoding="utf-8")
    resume = ["batch", str(corpus), "--out", str(out), "--model", str(tiny_model)]
    resume += ["--chunk-size", "3", "--resume", "--no-progress"]
    for command in (["report", str(out), "--format", "json"], resume):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        lines = result.output.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {errors}:1: not a failed record")


@pytest.mark.parametrize("manifest", ["[1, 2]", "{not json", '"settings"'])
def test_a_damaged_manifest_is_one_line(
    tmp_path: Path, corpus: Path, model, tiny_model: Path, manifest: str
) -> None:
    out = tmp_path / "out"
    batch(corpus, out, model)
    (out / "batch.json").write_text(manifest, encoding="utf-8")
    resume = ["batch", str(corpus), "--out", str(out), "--model", str(tiny_model), "--resume"]
    for command in (["report", str(out), "--out", str(tmp_path / "report")], resume):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"Error: {out / 'batch.json'}: ")


def finished_then_grown(tmp_path: Path, corpus: Path, model) -> tuple[Path, Path]:
    """A finished run of the corpus's first eight records; the input then holds them all."""
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    growing = tmp_path / "growing.jsonl"
    growing.write_text("".join(lines[:8]), encoding="utf-8")
    out = tmp_path / "out"
    batch(growing, out, model)
    growing.write_text("".join(lines), encoding="utf-8")
    return growing, out


def test_records_appended_to_the_input_are_added_on_resume(
    tmp_path: Path, corpus: Path, model
) -> None:
    """A chunk finished earlier (a5, a6 of a chunk of three) keeps its rows when it grows."""
    growing, out = finished_then_grown(tmp_path, corpus, model)
    summary = batch(growing, out, model, resume=True)
    assert (summary.done, summary.skipped) == (5, 8)
    whole = tmp_path / "whole"
    batch(corpus, whole, model)
    final, expected = read_results(out), read_results(whole)
    assert final.articles.to_pylist() == expected.articles.to_pylist()
    assert final.spans.to_pylist() == expected.spans.to_pylist()


def test_a_stop_while_a_grown_chunk_is_written_leaves_no_span_twice(
    tmp_path: Path, corpus: Path, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    growing, out = finished_then_grown(tmp_path, corpus, model)
    real_commit = result_tables._commit

    def stop_before_the_grown_articles_part(temporary: Path) -> None:
        if temporary.parent.name == "articles.parquet" and "part-000002" in temporary.name:
            raise KeyboardInterrupt  # spans part 2 holds old and new rows, articles the old
        real_commit(temporary)

    monkeypatch.setattr(result_tables, "_commit", stop_before_the_grown_articles_part)
    with pytest.raises(KeyboardInterrupt):
        batch(growing, out, model, resume=True)
    monkeypatch.setattr(result_tables, "_commit", real_commit)
    batch(growing, out, model, resume=True)
    whole = tmp_path / "whole"
    batch(corpus, whole, model)
    assert read_results(out).spans.to_pylist() == read_results(whole).spans.to_pylist()
