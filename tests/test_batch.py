"""Batch runs: input readers, result tables, bad records and resuming after a kill."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from propscan.batch import chunks
from propscan.batch import results as result_tables
from propscan.batch.chunks import AnalysisOptions, Chunk, ChunkResult
from propscan.batch.engines import LocalEngine, ProcessEngine, open_engine
from propscan.batch.inputs import Columns, read_records
from propscan.batch.parts import ADDED_COLUMNS, ARTICLES_SCHEMA
from propscan.batch.results import BatchResults, read_results
from propscan.batch.run import run_batch
from propscan.core.spans import Article
from propscan.errors import PropscanError
from propscan.pipeline import analyze, load_model
from propscan.ptc.splits import Split


def write_jsonl(path: Path, records: Iterable[dict[str, object] | str]) -> Path:
    """One line per record; strings are written as they are (for malformed lines)."""
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def dev_records(dev_split: Split, count: int) -> list[dict[str, object]]:
    return [
        {
            "id": a.id,
            "text": a.text,
            "title": a.title,
            "outlet": f"outlet-{n % 2}",
            "date": f"2019-0{n % 3 + 1}-1{n % 9}",
        }
        for n, a in enumerate(dev_split.articles[:count])
    ]


@pytest.fixture(scope="module")
def model(tiny_model: Path):
    return load_model(tiny_model)


@pytest.fixture()
def corpus_with_bad_records(tmp_path: Path, dev_split: Split) -> Path:
    """Six dev articles with bad records between them."""
    good = dev_records(dev_split, 6)
    records: list[dict[str, object] | str] = [
        good[0],
        {"id": "blank", "text": "  \n "},
        good[1],
        good[2],
        "{not json",
        {"text": "no id here"},
        good[3],
        {**good[0], "text": "the same id again"},
        good[4],
        good[5],
    ]
    return write_jsonl(tmp_path / "corpus.jsonl", records)


def rows(table: pa.Table) -> list[dict[str, object]]:
    return table.to_pylist()


# --- readers --------------------------------------------------------------------------


def test_jsonl_reader_reports_each_bad_record_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"id": 1, "text": "Good text.", "outlet": "Daily"}\n'
        b"\n"
        b'{"id": "x", "text": ""}\n'
        b'{"id": "y", "text": "bad \xff byte"}\n'
        b"[1, 2]\n"
        b'{"text": "who am I"}\n'
        b'{"id": "s", "text": "lone \\ud800 surrogate"}\n'
        b'{"id": "long", "text": "' + b"a" * 50 + b'"}\n'
        b'{"id": "1", "text": "duplicate"}\n'
        b'{"id": true, "text": "odd id"}\n'
    )
    records = list(read_records(path, max_characters=40))
    assert [r.location for r in records] == [f"line {n}" for n in (1, 3, 4, 5, 6, 7, 8, 9, 10)]
    assert [r.position for r in records] == list(range(9))
    first = records[0].article
    assert first is not None and first.id == "1" and first.source == "Daily"
    problems = [r.problem for r in records[1:]]
    assert problems[0] == "empty text"
    assert "not valid UTF-8" in problems[1]
    assert "expected a JSON object" in problems[2]
    assert "missing id" in problems[3]
    assert "unpaired surrogate" in problems[4]
    assert "too long: 50 characters (limit 40" in problems[5]
    assert problems[6] == "duplicate id '1' (first at line 1)"
    assert "not a string or an integer" in problems[7]
    assert all(r.article is None for r in records[1:])


def test_jsonl_problems_name_the_record_and_the_place_in_its_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"id": "a", "text": "Fine."}\n'
        '{"id": null, "text": "x"}\n'
        '{"id": "c", "text":\n'
        '{"id": "d", "text": "one", "text": "two"}\n'
        '{"id": "e", "n": 1' + "0" * 5000 + "}\n"
        '{"id": "f", "text": "x", "source": {"name": "Daily"}}\n',
        encoding="utf-8",
    )
    assert [(r.location, r.id, r.problem) for r in read_records(path)][1:] == [
        ("line 2", None, "missing id ('id' is null)"),
        ("line 3", None, "not valid JSON (Expecting value at character 21 of the line)"),
        ("line 4", "d", "the object has field 'text' more than once; keep one"),
        ("line 5", None, "not readable JSON (a number too long to read); give it as a string"),
        ("line 6", "f", "'source' is an object, not text; give it as a string"),
    ]


def test_a_jsonl_field_that_no_record_has_is_one_error(tmp_path: Path, model) -> None:
    """As a CSV file without the column: nothing is analysed or written."""
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "One."}, "not json"])
    out = tmp_path / "results"
    with pytest.raises(
        PropscanError,
        match=r"no record has a 'body' field \(line 1 has 'id', 'text'\); name the right one "
        r"with --text-column",
    ):
        run_batch(path, out, model=model, columns=Columns(text="body"), progress=False)
    with pytest.raises(PropscanError, match=r"no record has a 'key' field .* --id-column"):
        run_batch(path, out, model=model, columns=Columns(id="key"), progress=False)
    assert not out.exists()


def test_csv_reader_maps_columns_and_isolates_undecodable_rows(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(
        b"doc,body,site,published\n"
        b'a,"First, with a comma\nand a newline",Site A,2020-01-02\n'
        b"b,caf\xe9 latin-1,Site B,2020-01-03\n"
        b"c,Third,,\n"
    )
    columns = Columns(id="doc", text="body", source=("site",), date="published")
    records = list(read_records(path, columns))
    good = records[0].article
    assert good is not None
    assert good.text == "First, with a comma\nand a newline"
    assert (good.source, good.date) == ("Site A", "2020-01-02")
    assert records[1].article is None and "not valid UTF-8" in (records[1].problem or "")
    third = records[2].article
    assert third is not None and third.source is None and third.date is None


def test_csv_without_the_id_column_names_the_option(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("key,text\n1,hello\n", encoding="utf-8")
    with pytest.raises(PropscanError, match=r"no column 'id' \(columns: key, text\).*--id-column"):
        list(read_records(path))


def test_parquet_reader(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    table = pa.table({"id": [7, 8], "text": ["Some text.", None], "source": ["S", None]})
    pq.write_table(table, path)
    records = list(read_records(path))
    assert records[0].article is not None and records[0].article.id == "7"
    assert records[0].location == "row 1"
    assert records[1].problem == "missing 'text' field"


def test_folder_reader_reads_ptc_root_and_reports_bad_files(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("not an article", encoding="utf-8")
    articles = tmp_path / "dev-articles"
    articles.mkdir()
    (articles / "article111.txt").write_text("Title line\n\nBody.\n", encoding="utf-8")
    (articles / "article222.txt").write_bytes(b"Title\n\nbad \xff\n")
    records = list(read_records(tmp_path))
    assert [r.id for r in records] == ["111", "222"]
    first = records[0].article
    assert first is not None and first.title == "Title line"
    assert records[1].location == str(Path("dev-articles") / "article222.txt")
    assert "not valid UTF-8 (line 3" in (records[1].problem or "")


def test_unknown_input_type(tmp_path: Path) -> None:
    path = tmp_path / "corpus.xml"
    path.write_text("<x/>", encoding="utf-8")
    with pytest.raises(PropscanError, match=r"unknown input type '\.xml'"):
        list(read_records(path))


# --- runs -----------------------------------------------------------------------------


def test_batch_writes_tables_and_sends_bad_records_to_errors(
    tmp_path: Path, corpus_with_bad_records: Path, dev_split: Split, model
) -> None:
    out = tmp_path / "results"
    summary = run_batch(corpus_with_bad_records, out, model=model, chunk_size=3, progress=False)
    assert (summary.done, summary.failed, summary.skipped) == (6, 4, 0)
    results = read_results(out)
    errors = {row["location"]: row for row in rows(results.errors)}
    assert errors["line 2"] == {"id": "blank", "location": "line 2", "reason": "empty text"}
    assert errors["line 5"]["reason"].startswith("not valid JSON")
    assert errors["line 6"]["id"] is None and "missing id" in errors["line 6"]["reason"]
    assert errors["line 8"]["reason"].startswith("duplicate id")

    texts = {a.id: a.text for a in dev_split.articles}
    articles = rows(results.articles)
    assert sorted(a["id"] for a in articles) == sorted(a.id for a in dev_split.articles[:6])
    spans = rows(results.spans)
    assert spans and summary.spans == len(spans)
    for span in spans:
        assert texts[span["id"]][span["start"] : span["end"]] == span["fragment"]
        assert span["source"] in ("outlet-0", "outlet-1") and span["date"]
    for article in articles:
        own = [s for s in spans if s["id"] == article["id"]]
        assert article["spans"] == len(own)
        assert article["characters"] == len(texts[article["id"]])
        assert article["words"] == chunks.count_words(texts[article["id"]]) > 0
        assert 0 <= article["propaganda_sentences"] <= article["sentences"]
        assert article["propaganda_sentence_share"] == pytest.approx(
            article["propaganda_sentences"] / article["sentences"]
        )
        assert article["spans_per_1000_words"] == pytest.approx(1000 * len(own) / article["words"])


def test_article_row_counts_sentences_that_a_span_overlaps(model) -> None:
    text = "Calm first sentence. These evil traitors lie! A last plain one."
    analysis = analyze(text, model)
    article = Article(id="x", text=text)
    row, spans = chunks.article_rows(article, analysis)
    flagged = {
        (s.start, s.end)
        for s in analysis.sentences
        for span in analysis.spans
        if span.start < s.end and s.start < span.end
    }
    assert row["propaganda_sentences"] == len(flagged)
    assert row["words"] == 11
    assert [s["fragment"] for s in spans] == [text[s.start : s.end] for s in analysis.spans]


def test_jsonl_format_holds_the_same_tables(
    tmp_path: Path, corpus_with_bad_records: Path, model
) -> None:
    run_batch(corpus_with_bad_records, tmp_path / "pq", model=model, progress=False)
    run_batch(
        corpus_with_bad_records, tmp_path / "js", model=model, result_format="jsonl", progress=False
    )
    assert (tmp_path / "js" / "spans.jsonl").is_dir()
    assert_same_results(read_results(tmp_path / "pq"), read_results(tmp_path / "js"))


def assert_same_results(first: BatchResults, second: BatchResults) -> None:
    assert rows(first.spans) == rows(second.spans)
    assert rows(first.articles) == rows(second.articles)
    assert rows(first.errors) == rows(second.errors)


def assert_no_document_twice(results: BatchResults) -> None:
    ids = results.articles.column("id").to_pylist()
    assert len(ids) == len(set(ids))
    locations = results.errors.column("location").to_pylist()
    assert len(locations) == len(set(locations))
    spans = [(s["id"], s["start"], s["end"], s["technique"]) for s in rows(results.spans)]
    assert len(spans) == len(set(spans))


@dataclass
class FailingEngine:
    """Runs chunks locally, then stops dead (like a killed process) after ``after`` chunks."""

    inner: LocalEngine
    after: int

    def run(self, chunks: Iterable[Chunk], options: AnalysisOptions) -> Iterator[ChunkResult]:
        for number, result in enumerate(self.inner.run(chunks, options)):
            if number == self.after:
                raise KeyboardInterrupt
            yield result


def test_resume_after_interruption_equals_an_uninterrupted_run(
    tmp_path: Path, corpus_with_bad_records: Path, model
) -> None:
    whole = tmp_path / "whole"
    run_batch(corpus_with_bad_records, whole, model=model, chunk_size=2, progress=False)

    resumed = tmp_path / "resumed"
    engine = FailingEngine(LocalEngine(model), after=2)
    with pytest.raises(KeyboardInterrupt):
        run_batch(
            corpus_with_bad_records,
            resumed,
            model=model,
            engine=engine,
            chunk_size=2,
            progress=False,
        )
    partial = read_results(resumed)
    assert 0 < partial.articles.num_rows < 6
    summary = run_batch(
        corpus_with_bad_records, resumed, model=model, chunk_size=2, resume=True, progress=False
    )
    assert summary.skipped == 4  # two chunks of two records were finished before the stop
    final = read_results(resumed)
    assert_same_results(final, read_results(whole))
    assert_no_document_twice(final)


def test_a_stop_between_writing_spans_and_articles_leaves_nothing_twice(
    tmp_path: Path, corpus_with_bad_records: Path, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = tmp_path / "whole"
    run_batch(corpus_with_bad_records, whole, model=model, chunk_size=4, progress=False)
    out = tmp_path / "cut"
    real_commit = result_tables._commit

    def commit_until_second_articles_part(temporary: Path) -> None:
        if temporary.parent.name == "articles.parquet" and "part-000001" in temporary.name:
            raise KeyboardInterrupt  # spans part 1 is in place, its articles part is not
        real_commit(temporary)

    monkeypatch.setattr(result_tables, "_commit", commit_until_second_articles_part)
    with pytest.raises(KeyboardInterrupt):
        run_batch(corpus_with_bad_records, out, model=model, chunk_size=4, progress=False)
    monkeypatch.setattr(result_tables, "_commit", real_commit)
    assert (out / "spans.parquet" / "part-000001.parquet").exists()
    assert not (out / "articles.parquet" / "part-000001.parquet").exists()

    run_batch(corpus_with_bad_records, out, model=model, chunk_size=4, resume=True, progress=False)
    final = read_results(out)
    assert_same_results(final, read_results(whole))
    assert_no_document_twice(final)


def test_a_line_cut_short_in_the_errors_file_is_dropped_on_resume(
    tmp_path: Path, corpus_with_bad_records: Path, model
) -> None:
    out = tmp_path / "results"
    run_batch(corpus_with_bad_records, out, model=model, progress=False)
    expected = read_results(out)
    errors = out / "errors.jsonl"
    lines = errors.read_text(encoding="utf-8").splitlines(keepends=True)
    errors.write_text("".join(lines[:-1]) + lines[-1][:10], encoding="utf-8")
    run_batch(corpus_with_bad_records, out, model=model, resume=True, progress=False)
    assert_same_results(read_results(out), expected)


KILLED_RUN = """
import sys, time
from propscan.batch import run
from propscan.cli import main

commit = run.commit_chunk

def slow_commit(*args, **kwargs):
    commit(*args, **kwargs)
    time.sleep(0.5)

run.commit_chunk = slow_commit
sys.argv = ["propscan", *sys.argv[1:]]
main()
"""


@pytest.mark.slow
def test_resume_after_a_hard_kill_mid_run(
    tmp_path: Path, corpus_with_bad_records: Path, tiny_model: Path, model
) -> None:
    whole = tmp_path / "whole"
    run_batch(corpus_with_bad_records, whole, model=model, chunk_size=2, progress=False)
    out = tmp_path / "killed"
    arguments = [
        str(corpus_with_bad_records),
        "--out",
        str(out),
        "--model",
        str(tiny_model),
        "--chunk-size",
        "2",
        "--no-progress",
    ]
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, "batch", *arguments], stderr=subprocess.PIPE
    )
    first_part = out / "articles.parquet" / "part-000000.parquet"
    deadline = time.monotonic() + 60
    while not first_part.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    _, stderr = process.communicate()
    assert process.returncode == -signal.SIGKILL, stderr.decode()
    assert first_part.exists()
    assert read_results(out).articles.num_rows < 6

    run_batch(
        corpus_with_bad_records, out, model=tiny_model, chunk_size=2, resume=True, progress=False
    )
    final = read_results(out)
    assert_same_results(final, read_results(whole))
    assert_no_document_twice(final)


def test_existing_results_need_resume_and_the_same_settings(
    tmp_path: Path, corpus_with_bad_records: Path, model
) -> None:
    out = tmp_path / "results"
    run_batch(corpus_with_bad_records, out, model=model, progress=False)
    with pytest.raises(PropscanError, match="already holds batch results; pass --resume"):
        run_batch(corpus_with_bad_records, out, model=model, progress=False)
    with pytest.raises(PropscanError, match=r"different settings \(threshold\)"):
        run_batch(
            corpus_with_bad_records,
            out,
            model=model,
            resume=True,
            options=AnalysisOptions(threshold=0.2),
            progress=False,
        )
    summary = run_batch(corpus_with_bad_records, out, model=model, resume=True, progress=False)
    assert (summary.done, summary.failed, summary.skipped) == (0, 0, 10)


def test_a_second_run_on_the_same_results_is_refused_while_the_first_runs(
    tmp_path: Path, corpus_with_bad_records: Path, model
) -> None:
    """Two runs on one ``--out`` would write each chunk twice: the second is refused, and
    a run that dies (here: killed) leaves the directory free for ``--resume``."""
    out = tmp_path / "results"
    run_batch(corpus_with_bad_records, out, model=model, limit=4, progress=False)
    holder = subprocess.Popen(  # another run, holding the directory's lock
        [sys.executable, "-c", HOLD_LOCK, str(out / result_tables.LOCK_FILE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(PropscanError, match="another propscan batch is writing to"):
            run_batch(corpus_with_bad_records, out, model=model, resume=True, progress=False)
    finally:
        holder.kill()
        holder.wait()
    summary = run_batch(corpus_with_bad_records, out, model=model, resume=True, progress=False)
    assert summary.skipped == 4
    assert_no_document_twice(read_results(out))


HOLD_LOCK = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(600)
"""


def test_refuses_to_write_into_a_folder_of_other_files(
    tmp_path: Path, corpus_with_bad_records: Path, model
) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(PropscanError, match="not empty and holds no batch results"):
        run_batch(corpus_with_bad_records, tmp_path, model=model, progress=False)


def test_technique_filter_and_threshold_are_checked(
    tmp_path: Path, corpus_with_bad_records: Path, model
) -> None:
    with pytest.raises(PropscanError, match="unknown technique 'Loaded'"):
        run_batch(
            corpus_with_bad_records,
            tmp_path / "a",
            model=model,
            options=AnalysisOptions(techniques=("Loaded",)),
            progress=False,
        )
    with pytest.raises(PropscanError, match="between 0 and 1"):
        run_batch(
            corpus_with_bad_records,
            tmp_path / "b",
            model=model,
            options=AnalysisOptions(threshold=1.5),
            progress=False,
        )
    run_batch(
        corpus_with_bad_records,
        tmp_path / "c",
        model=model,
        progress=False,
        options=AnalysisOptions(techniques=("loaded_language",)),
    )
    techniques = set(read_results(tmp_path / "c").spans.column("technique").to_pylist())
    assert techniques <= {"Loaded_Language"}


def test_limit_takes_the_first_records(
    tmp_path: Path, corpus_with_bad_records: Path, model
) -> None:
    summary = run_batch(
        corpus_with_bad_records, tmp_path / "r", model=model, limit=3, progress=False
    )
    assert (summary.done, summary.failed) == (2, 1)


@pytest.mark.slow
def test_local_worker_processes_give_the_same_tables(
    tmp_path: Path, corpus_with_bad_records: Path, tiny_model: Path, model
) -> None:
    run_batch(corpus_with_bad_records, tmp_path / "one", model=model, chunk_size=2, progress=False)
    run_batch(
        corpus_with_bad_records,
        tmp_path / "two",
        model=tiny_model,
        chunk_size=2,
        engine=ProcessEngine(str(tiny_model), workers=2),
        progress=False,
    )
    assert_same_results(read_results(tmp_path / "one"), read_results(tmp_path / "two"))


@pytest.mark.slow
def test_worker_processes_find_an_installed_model_by_name(
    tmp_path: Path, corpus_with_bad_records: Path, tiny_package: str, model
) -> None:
    run_batch(corpus_with_bad_records, tmp_path / "one", model=model, chunk_size=2, progress=False)
    with open_engine(model=tiny_package, workers=2) as engine:
        assert isinstance(engine, ProcessEngine) and engine.model_path == tiny_package
        run_batch(
            corpus_with_bad_records,
            tmp_path / "two",
            model=tiny_package,
            chunk_size=2,
            engine=engine,
            progress=False,
        )
    assert_same_results(read_results(tmp_path / "one"), read_results(tmp_path / "two"))


def test_csv_input_end_to_end(tmp_path: Path, dev_split: Split, model) -> None:
    path = tmp_path / "in.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["id", "text", "source"])
        writer.writeheader()
        for article in dev_split.articles[:2]:
            writer.writerow({"id": article.id, "text": article.text, "source": "CSV Times"})
    run_batch(path, tmp_path / "r", model=model, progress=False)
    results = read_results(tmp_path / "r")
    assert set(results.articles.column("source").to_pylist()) == {"CSV Times"}
    texts = {a.id: a.text for a in dev_split.articles}
    for span in rows(results.spans):
        assert texts[span["id"]][span["start"] : span["end"]] == span["fragment"]


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PropscanError, match=r"no \.txt files"):
        list(read_records(tmp_path))


def test_folder_reader_reports_a_file_name_that_is_not_utf8_with_a_storable_location(
    tmp_path: Path,
) -> None:
    (tmp_path / "good.txt").write_text("Some text.\n", encoding="utf-8")
    try:
        with open(os.fsencode(tmp_path) + b"/bad\xff.txt", "wb") as handle:
            handle.write(b"More text.\n")
    except OSError:
        pytest.skip("this file system refuses file names that are not UTF-8")
    records = list(read_records(tmp_path))
    bad = next(r for r in records if r.article is None)
    assert (bad.id, bad.location) == (None, "bad\\xff.txt")
    assert bad.location.encode("utf-8")
    assert "file name is not valid UTF-8 (byte 0xFF" in (bad.problem or "")


def test_tables_carry_bands_voices_evidence_and_the_article_score(
    tmp_path: Path, dev_split: Split, model
) -> None:
    """The same facts as the JSON: each span's band, quotation and key words; each
    article's score, its note, quoted marks and the threshold it was made at."""
    quoted = 'The minister said: "These traitors and liars will pay dearly for it." Fine.'
    records = [*dev_records(dev_split, 2), {"id": "q", "text": quoted}]
    out = tmp_path / "results"
    run_batch(write_jsonl(tmp_path / "in.jsonl", records), out, model=model, progress=False)
    results = read_results(out)
    for record in records:
        analysis = analyze(str(record["text"]), model)
        [row] = [r for r in rows(results.articles) if r["id"] == record["id"]]
        assert row["article_score"] == analysis.article_score.percentile
        assert row["article_score_note"] == analysis.article_score.note
        assert row["threshold"] == analysis.threshold == model.decision_threshold
        own = [s for s in rows(results.spans) if s["id"] == record["id"]]
        assert row["quoted_spans"] == sum(s["in_quote"] for s in own)
        expected = [analysis.span_dict(span) for span in analysis.spans]
        assert [s["band"] for s in own] == [e["band"] for e in expected]
        assert [s["evidence"] for s in own] == [e["evidence"] for e in expected]
    inside = [s for s in rows(results.spans) if s["id"] == "q"]
    assert inside and all(s["in_quote"] and s["speaker"] == "The minister" for s in inside)


def test_min_band_keeps_strong_marks_only(tmp_path: Path, dev_split: Split, model) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", dev_records(dev_split, 3))
    run_batch(path, tmp_path / "all", model=model, progress=False)
    options = AnalysisOptions(min_band="Moderate")
    run_batch(path, tmp_path / "some", model=model, options=options, progress=False)
    every = rows(read_results(tmp_path / "all").spans)
    kept = rows(read_results(tmp_path / "some").spans)
    assert kept == [s for s in every if s["score"] >= 0.35]
    assert json.loads((tmp_path / "some" / "batch.json").read_text())["min_band"] == "moderate"
    with pytest.raises(PropscanError, match="unknown confidence band 'loud'"):
        AnalysisOptions(min_band="loud")


def test_results_written_before_the_new_columns_still_read(tmp_path: Path) -> None:
    """Older parts lack the appended columns: they read as missing values."""
    folder = tmp_path / "old" / "articles.parquet"
    folder.mkdir(parents=True)
    columns = [f for f in ARTICLES_SCHEMA if f.name not in ADDED_COLUMNS]
    old = pa.table(
        {f.name: pa.array([None], f.type) for f in columns} | {"id": ["a"], "title": ["T"]}
    )
    pq.write_table(old, folder / "part-000000.parquet")
    (tmp_path / "old" / "spans.parquet").mkdir()
    [row] = rows(result_tables.read_table(tmp_path / "old", "articles"))
    assert row["id"] == "a" and row["article_score"] is None and row["quoted_spans"] is None
