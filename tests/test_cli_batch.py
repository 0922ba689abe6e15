"""The ``batch`` and ``report`` commands: files written, summaries, and errors as messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stubs import FixedDetector
from typer.testing import CliRunner

from propscan.batch.results import read_results
from propscan.cli import app
from propscan.core.spans import Span
from propscan.ptc.splits import Split

runner = CliRunner()


@pytest.fixture()
def corpus(tmp_path: Path, dev_split: Split) -> Path:
    """Three dev articles from two outlets on two dates, and one record without text."""
    path = tmp_path / "corpus.jsonl"
    records = [
        {"doc": a.id, "body": a.text, "paper": f"Paper {n % 2}", "date": f"2020-0{n % 2 + 1}-01"}
        for n, a in enumerate(dev_split.articles[:3])
    ]
    records.append({"doc": "blank", "body": ""})
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


COLUMNS = ["--id-column", "doc", "--text-column", "body", "--source-column", "paper"]


def test_batch_then_report(tmp_path: Path, corpus: Path, tiny_model: Path) -> None:
    out = tmp_path / "results"
    batch = ["batch", str(corpus), "--out", str(out), "--model", str(tiny_model)]
    batch += ["--format", "jsonl", *COLUMNS]
    result = runner.invoke(app, batch)
    assert result.exit_code == 0, result.output
    assert "3 analysed, 0 skipped, 1 failed" in result.stderr
    assert "errors.jsonl" in result.stderr
    tables = read_results(out)
    assert tables.articles.num_rows == 3
    assert set(tables.articles.column("source").to_pylist()) == {"Paper 0", "Paper 1"}
    assert tables.errors.to_pylist() == [
        {"id": "blank", "location": "line 4", "reason": "empty text"}
    ]

    again = runner.invoke(app, [*batch, "--resume"])
    assert again.exit_code == 0, again.output
    assert "0 analysed, 4 skipped, 0 failed" in again.stderr

    table = runner.invoke(app, ["report", str(out), "--format", "table", "--by", "outlet"])
    assert table.exit_code == 0, table.output
    assert "Paper 0" in table.stdout and "Paper 1" in table.stdout

    as_json = runner.invoke(app, ["report", str(out), "--format", "json", "--by", "date"])
    assert as_json.exit_code == 0, as_json.output
    payload = json.loads(as_json.stdout)
    assert [row["period"] for row in payload["rows"]] == ["2020-01-01", "2020-02-01"]
    assert payload["summary"]["articles"] == 3

    report_dir = tmp_path / "report"
    html = runner.invoke(app, ["report", str(out), "--out", str(report_dir), "--by", "technique"])
    assert html.exit_code == 0, html.output
    assert (report_dir / "report.html").is_file() and (report_dir / "by_technique.csv").is_file()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["batch", "{missing}", "--out", "{out}"], "does not exist"),
        (["batch", "{corpus}", "--out", "{out}", "--format", "xml"], "--format must be one of"),
        (
            ["batch", "{corpus}", "--out", "{out}", "--scheduler", "tcp://h:1"],
            "--scheduler needs --engine dask",
        ),
        (["batch", "{corpus}", "--out", "{out}", "--engine", "spark"], "unknown engine 'spark'"),
        (
            ["batch", "{corpus}", "--out", "{out}", "-t", "Lies", *COLUMNS],
            "unknown technique 'Lies'",
        ),
        (["report", "{out}", "--by", "site"], "--by must be one of outlet, date, technique"),
        (["report", "{corpus}", "--format", "table"], "does not exist"),
        (["report", "{out}"], "--out DIR is needed"),
    ],
)
def test_mistakes_give_a_message_and_status_2(
    tmp_path: Path, corpus: Path, tiny_model: Path, arguments: list[str], message: str
) -> None:
    places = {"missing": tmp_path / "nope.jsonl", "out": tmp_path / "out", "corpus": corpus}
    argv = [part.format(**places) for part in arguments]
    if argv[0] == "batch":
        argv += ["--model", str(tiny_model)]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_existing_results_are_not_overwritten(
    tmp_path: Path, corpus: Path, tiny_model: Path
) -> None:
    argv = [
        "batch",
        str(corpus),
        "--out",
        str(tmp_path / "r"),
        "--model",
        str(tiny_model),
        *COLUMNS,
        "--limit",
        "1",
    ]
    assert runner.invoke(app, argv).exit_code == 0
    second = runner.invoke(app, argv)
    assert second.exit_code == 2
    assert "pass --resume" in second.stderr


def test_export_history_gives_results_that_report_reads(
    tmp_path: Path, dev_split: Split, tiny_model: Path
) -> None:
    from propscan.pipeline import analyze
    from propscan.service.store import Store

    database = tmp_path / "history.db"
    store = Store(database)
    stored = [
        store.save(analyze(a.text, tiny_model, title=a.title, source="Example Post"))
        for a in dev_split.articles[:2]
    ]
    out = tmp_path / "history"
    result = runner.invoke(app, ["export-history", "--db", str(database), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Exported 2 analyses" in result.stderr
    tables = read_results(out)
    articles = {row["id"]: row for row in tables.articles.to_pylist()}
    assert set(articles) == {s.id for s in stored}
    for item in stored:
        row = articles[item.id]
        assert (row["source"], row["date"]) == ("Example Post", item.created_at)
        assert row["spans"] == len(item.analysis.spans)
        fragments = [s["fragment"] for s in tables.spans.to_pylist() if s["id"] == item.id]
        assert fragments == [s.fragment(item.analysis.text) for s in item.analysis.spans]
    table = runner.invoke(app, ["report", str(out), "--format", "table"])
    assert table.exit_code == 0 and "Example Post" in table.stdout


def test_export_history_is_one_snapshot_of_a_history_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Analyses stored while the export lists the history shift no page: each one listed
    is exported once; exporting into the same folder again says to choose another."""
    from propscan.pipeline import analyze
    from propscan.service.store import Store

    database = tmp_path / "history.db"
    store = Store(database)
    text = "They are corrupt traitors and liars, all of them, every single one."
    for _ in range(3):
        store.save(analyze(text, FixedDetector([Span(9, 25, "Loaded_Language", 0.6)])))
    listed = Store.list

    def listing_while_the_service_writes(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        page = listed(self, *args, **kwargs)
        Store(database).save(analyze(text + " Again.", FixedDetector([])))
        return page

    monkeypatch.setattr(Store, "list", listing_while_the_service_writes)
    out = tmp_path / "history"
    result = runner.invoke(app, ["export-history", "--db", str(database), "--out", str(out)])
    assert result.exit_code == 0, result.output
    ids = read_results(out).articles.column("id").to_pylist()
    assert len(ids) == len(set(ids)) == 3
    again = runner.invoke(app, ["export-history", "--db", str(database), "--out", str(out)])
    assert again.exit_code == 2
    assert "already holds results; export into a new --out directory" in again.stderr


def test_export_history_without_a_database(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export-history", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "no history database" in result.stderr


def test_export_history_leaves_a_database_that_is_no_history_as_it_was(tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    foreign, empty = tmp_path / "notes.db", tmp_path / "empty.db"
    with closing(sqlite3.connect(foreign)) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.commit()
    empty.touch()
    for database, problem in (
        (foreign, "is not a propscan database (it holds other tables: notes)"),
        (empty, "holds no propscan history"),
    ):
        before = database.read_bytes()
        out = tmp_path / f"{database.stem}-out"
        result = runner.invoke(app, ["export-history", "--db", str(database), "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert problem in result.stderr and "Traceback" not in result.output
        assert database.read_bytes() == before and not out.exists()


def test_an_id_that_is_not_utf8_is_a_failed_record_not_a_crash(
    tmp_path: Path, tiny_model: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"id,text\n1,Good text here.\n2\xff,\n\xfe,Some text.\n")
    out = tmp_path / "out"
    argv = ["batch", str(source), "--out", str(out), "--model", str(tiny_model)]
    result = runner.invoke(app, [*argv, "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [(row["id"], row["location"]) for row in errors] == [(None, "line 3"), (None, "line 4")]
    assert "id '2\\udcff' is not valid UTF-8 (byte 0xFF at character 1)" in errors[0]["reason"]


def test_a_record_nested_too_deeply_fails_alone_in_a_run_and_its_resume(
    tmp_path: Path, tiny_model: Path
) -> None:
    source = tmp_path / "in.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    good = [json.dumps({"id": n, "text": "They lie, all of them."}) for n in range(2)]
    source.write_text("\n".join([good[0], deep, good[1]]) + "\n", encoding="utf-8")
    argv = ["batch", str(source), "--out", str(tmp_path / "out"), "--model", str(tiny_model)]
    first = runner.invoke(app, argv)
    assert first.exit_code == 0, first.output
    assert "2 analysed, 0 skipped, 1 failed" in first.stderr
    again = runner.invoke(app, [*argv, "--resume"])
    assert again.exit_code == 0, again.output
    assert "0 analysed, 3 skipped, 0 failed" in again.stderr


def test_report_reads_a_moved_input_and_refuses_another_model(
    tmp_path: Path, corpus: Path, tiny_model: Path
) -> None:
    out = tmp_path / "results"
    batch = ["batch", str(corpus), "--out", str(out), "--model", str(tiny_model), *COLUMNS]
    assert runner.invoke(app, [*batch, "--min-band", "weak"]).exit_code == 0
    moved = corpus.rename(tmp_path / "moved.jsonl")
    gone = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "a")])
    assert gone.exit_code == 0
    assert "No article pages:" in (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    found = runner.invoke(
        app, ["report", str(out), "--out", str(tmp_path / "b"), "--input", str(moved)]
    )
    assert found.exit_code == 0, found.output
    assert len(list((tmp_path / "b" / "articles").glob("*.html"))) == 3
    other = runner.invoke(
        app, ["report", str(out), "--out", str(tmp_path / "c"), "--model", str(tmp_path)]
    )
    assert other.exit_code == 2 and "not a propscan model directory" in other.stderr


def test_batch_refuses_an_unknown_band(tmp_path: Path, corpus: Path) -> None:
    result = runner.invoke(
        app, ["batch", str(corpus), "--out", str(tmp_path / "r"), "--min-band", "loud"]
    )
    assert result.exit_code == 2
    assert "unknown confidence band 'loud'" in result.stderr and not (tmp_path / "r").exists()
