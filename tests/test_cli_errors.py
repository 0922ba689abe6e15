"""The CLI's error boundary and polish: one line and exit 2 for what the user can fix.

Bad output paths, read-only folders and a full disk end in one ``Error:`` line, never
a traceback; help reads at 80 columns; counts are spelled with the right plural.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

import propscan
from propscan.cli import app
from propscan.service import create_app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
ARTICLE = "They are corrupt traitors and liars, all of them!\nShameful elites destroy our nation.\n"


def invoke(*args: str | Path, input: str | bytes | None = None, env: dict | None = None) -> Result:
    return runner.invoke(app, [str(arg) for arg in args], input=input, env=env)


def assert_one_line_error(result: Result, *needles: str, status: int = 2) -> str:
    """Exit ``status`` with a single ``Error:`` line holding every needle; no traceback."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]
    return lines[0]


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "article.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    records = [{"id": "a", "text": ARTICLE}, {"id": "b", "text": ARTICLE.upper()}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def results(tmp_path: Path, corpus: Path, tiny_model: Path) -> Path:
    out = tmp_path / "results"
    done = invoke("batch", corpus, "--out", out, "--model", tiny_model, "--format", "jsonl")
    assert done.exit_code == 0, done.output
    return out


@pytest.fixture
def history_db(tmp_path: Path, tiny_model: Path) -> Path:
    database = tmp_path / "history.db"
    with TestClient(create_app(propscan.load_model(tiny_model), database)) as client:
        assert client.post("/api/analyze", json={"text": ARTICLE}).status_code == 201
    return database


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a folder\n", encoding="utf-8")
    return path


@contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``path`` (skips the test where mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "mounted", "size=64k,ro") as folder:
        yield folder


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs filled to the last byte: every write into it fails with ENOSPC."""
    with tmpfs(tmp_path / "full", "size=64k") as folder:
        with (folder / "filler").open("wb", buffering=0) as filler, suppress(OSError):
            while filler.write(b"\0" * 512):
                pass
        yield folder


# --- bad --out paths ------------------------------------------------------------------------


def test_batch_out_is_a_file(corpus: Path, a_file: Path, tiny_model: Path) -> None:
    result = invoke("batch", corpus, "--out", a_file, "--model", tiny_model)
    assert_one_line_error(result, str(a_file), "not a directory")


def test_batch_out_inside_a_file(corpus: Path, a_file: Path, tiny_model: Path) -> None:
    result = invoke("batch", corpus, "--out", a_file / "results", "--model", tiny_model)
    assert_one_line_error(result, str(a_file), "not a directory")


def test_report_out_is_a_file(results: Path, a_file: Path) -> None:
    assert_one_line_error(invoke("report", results, "--out", a_file), str(a_file))


def test_report_out_inside_a_file(results: Path, a_file: Path) -> None:
    assert_one_line_error(invoke("report", results, "--out", a_file / "report"), str(a_file))


def test_export_history_out_is_a_file(history_db: Path, a_file: Path) -> None:
    result = invoke("export-history", "--db", history_db, "--out", a_file)
    assert_one_line_error(result, str(a_file), "not a directory")


def test_export_history_out_inside_a_file(history_db: Path, a_file: Path) -> None:
    result = invoke("export-history", "--db", history_db, "--out", a_file / "results")
    assert_one_line_error(result, str(a_file), "not a directory")


def test_analyze_out_inside_a_file(article: Path, a_file: Path, tiny_model: Path) -> None:
    result = invoke("analyze", article, "--model", tiny_model, "--out", a_file / "result.json")
    assert_one_line_error(result, str(a_file), "not a directory")


def test_analyze_out_is_a_folder(article: Path, tmp_path: Path, tiny_model: Path) -> None:
    result = invoke("analyze", article, "--model", tiny_model, "--out", tmp_path)
    assert_one_line_error(result, str(tmp_path), "is a directory")


# --- unwritable folders and a full disk -------------------------------------------------------


def test_batch_into_a_read_only_folder(
    corpus: Path, read_only_folder: Path, tiny_model: Path
) -> None:
    result = invoke("batch", corpus, "--out", read_only_folder / "results", "--model", tiny_model)
    assert_one_line_error(result, str(read_only_folder), "read-only")


def test_report_into_a_read_only_folder(results: Path, read_only_folder: Path) -> None:
    result = invoke("report", results, "--out", read_only_folder / "report")
    assert_one_line_error(result, str(read_only_folder), "read-only")


def test_analyze_into_a_read_only_folder(
    article: Path, read_only_folder: Path, tiny_model: Path
) -> None:
    out = read_only_folder / "result.html"
    result = invoke("analyze", article, "--model", tiny_model, "--format", "html", "--out", out)
    assert_one_line_error(result, str(out), "read-only")


def test_analyze_onto_a_full_device(article: Path, tiny_model: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    result = invoke(
        "analyze", article, "--model", tiny_model, "--format", "json", "--out", "/dev/full"
    )
    assert_one_line_error(result, "/dev/full", "No space left")


@pytest.mark.parametrize("result_format", ["jsonl", "parquet"])
def test_batch_onto_a_full_disk(
    corpus: Path, full_disk: Path, tiny_model: Path, result_format: str
) -> None:
    out = full_disk / "results"
    result = invoke("batch", corpus, "--out", out, "--model", tiny_model, "--format", result_format)
    assert_one_line_error(result, str(full_disk), "No space left")


def test_report_onto_a_full_disk(results: Path, full_disk: Path) -> None:
    result = invoke("report", results, "--out", full_disk / "report")
    assert_one_line_error(result, str(full_disk), "No space left")


def test_export_history_onto_a_full_disk(history_db: Path, full_disk: Path) -> None:
    result = invoke("export-history", "--db", history_db, "--out", full_disk / "results")
    assert_one_line_error(result, str(full_disk), "No space left")


def test_classify_onto_a_full_device(tmp_path: Path, tiny_model: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "article1.txt").write_text(ARTICLE, encoding="utf-8")
    spans = tmp_path / "spans.txt"
    spans.write_text("1\t?\t17\t25\n", encoding="utf-8")
    result = invoke(
        "classify", "--articles", folder, "--spans", spans, "--out", "/dev/full",
        "--model", tiny_model, "--no-progress",
    )  # fmt: skip
    assert_one_line_error(result, "/dev/full", "No space left")


def test_an_unexpected_error_is_one_line_too(
    article: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("the disk controller is on fire")

    monkeypatch.setattr(Path, "read_bytes", broken)
    result = invoke("analyze", article, "--model", tiny_model)
    line = assert_one_line_error(result, "RuntimeError", "on fire", status=1)
    assert "bug" in line


# --- input that is not text -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    ["\u200b" * 40, "\x00" * 2000, "\ufeff\u200d\u2060 \n\t\x07\x1b", ""],
    ids=["zero-width", "nul-bytes", "invisible", "empty"],
)
def test_analyze_refuses_text_with_nothing_visible(
    tmp_path: Path, tiny_model: Path, content: str
) -> None:
    path = tmp_path / "blank.txt"
    path.write_text(content, encoding="utf-8")
    assert_one_line_error(invoke("analyze", path, "--model", tiny_model), str(path), "empty")


def test_analyze_names_the_position_of_bad_bytes(tmp_path: Path, tiny_model: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"First line.\nThey are \xe9vil liars.\n")
    line = assert_one_line_error(invoke("analyze", path, "--model", tiny_model), str(path))
    assert "UTF-8" in line and ":2" in line and "byte 21" in line


def test_analyze_names_the_position_of_an_encoded_surrogate(tiny_model: Path) -> None:
    line = assert_one_line_error(
        invoke("analyze", "-", "--model", tiny_model, input=b"They lie \xed\xa0\x80 again.")
    )
    assert "standard input" in line and "byte 9" in line


def test_analyze_refuses_a_url_with_a_broken_international_name(tiny_model: Path) -> None:
    result = invoke("analyze", "http://xn--a.com/news", "--model", tiny_model)
    assert_one_line_error(result, "xn--a.com", "not a valid URL")


# --- limits -----------------------------------------------------------------------------------


def _default_of(command: str, option: str) -> str:
    result = invoke(command, "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    match = re.search(rf"{option}\b.*?\[default: ([^;\]]+)", result.output, re.S)
    assert match, f"no default shown for {command} {option}"
    return match.group(1).strip()


def test_the_character_limits_have_one_default() -> None:
    defaults = {
        command: _default_of(command, "--max-chars") for command in ("analyze", "batch", "serve")
    }
    assert len(set(defaults.values())) == 1, defaults


def test_analyze_refuses_text_over_the_limit(article: Path, tiny_model: Path) -> None:
    result = invoke("analyze", article, "--model", tiny_model, "--max-chars", "20")
    assert_one_line_error(result, str(article), str(len(ARTICLE)), "20", "--max-chars")


def test_batch_reports_an_over_limit_record_and_goes_on(tmp_path: Path, tiny_model: Path) -> None:
    source = tmp_path / "corpus.jsonl"
    records = [{"id": "long", "text": ARTICLE * 3}, {"id": "short", "text": ARTICLE}]
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "results"
    limit = str(len(ARTICLE) + 1)
    result = invoke(
        "batch", source, "--out", out, "--model", tiny_model, "--format", "jsonl",
        "--max-chars", limit,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 analysed" in result.output and "1 failed" in result.output
    [error] = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert error["id"] == "long" and limit in error["reason"]


def test_batch_reports_an_invisible_record_as_empty(tmp_path: Path, tiny_model: Path) -> None:
    source = tmp_path / "corpus.jsonl"
    records = [{"id": "blank", "text": "\u200b\u200b\x00"}, {"id": "fine", "text": ARTICLE}]
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "results"
    result = invoke("batch", source, "--out", out, "--model", tiny_model, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    [error] = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert error["id"] == "blank" and "empty" in error["reason"]


# --- serve ------------------------------------------------------------------------------------


def test_serve_on_a_port_in_use_exits_2(tiny_model: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = invoke(
            "serve", "--port", port, "--model", tiny_model, "--db", tmp_path / "history.db"
        )
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0]


@pytest.mark.parametrize("workers", ["0", "-2"])
def test_serve_needs_at_least_one_worker(workers: str, tmp_path: Path) -> None:
    result = invoke("serve", "--workers", workers, "--db", tmp_path / "history.db")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "'--workers'" in result.output and "greater than or equal to 1" in result.output
    assert not (tmp_path / "history.db").exists()  # refused before anything started


# --- polish -----------------------------------------------------------------------------------


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"propscan {propscan.__version__}"


def _commands() -> list[list[str]]:
    listing = invoke("--help", env={"COLUMNS": "80"}).output
    names = re.findall(r"^\s{2}([a-z][a-z-]+)\s", listing, re.M)
    commands = []
    for name in names:
        sub = invoke(name, "--help", env={"COLUMNS": "80"}).output
        inner = re.findall(r"^\s{2}([a-z][a-z-]+)\s", sub.split("Commands:")[-1], re.M)
        if "Commands:" in sub:
            commands += [[name, child] for child in inner]
        commands.append([name])
    return commands


def test_help_reads_at_80_columns() -> None:
    commands = _commands()
    assert ["batch"] in commands and ["score", "si"] in commands
    for command in [[], *commands]:
        result = invoke(*command, "--help", env={"COLUMNS": "80"})
        assert result.exit_code == 0, (command, result.output)
        for line in result.output.splitlines():
            assert len(line) <= 80, (command, line)
            assert "…" not in line, (command, line)
        assert "<bool>" not in result.output, command


@pytest.mark.parametrize(
    ("command", "flag"),
    [
        ("batch", "--resume / --no-resume"),
        ("batch", "--progress / --no-progress"),
        ("train", "--baseline / --no-baseline"),
    ],
)
def test_boolean_flags_show_both_forms(command: str, flag: str) -> None:
    assert flag in invoke(command, "--help", env={"COLUMNS": "80"}).output


def test_counts_are_spelled_with_the_right_plural(tmp_path: Path, tiny_model: Path) -> None:
    model = propscan.load_model(tiny_model)
    one = next(
        (
            (str(t / 100), label)
            for t in range(1, 100)
            for label, count in propscan.analyze(ARTICLE, model, threshold=t / 100)
            .technique_counts()
            .items()
            if count == 1
        ),
        None,
    )
    assert one is not None, "no threshold gives a technique exactly one span"
    threshold, label = one
    path = tmp_path / "one.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    options = ["--model", tiny_model, "--threshold", threshold, "--techniques", label]
    shown = invoke("analyze", path, *options)
    assert shown.exit_code == 0, shown.output
    assert "1 span in 1 technique " in shown.output, shown.output
    page = invoke("analyze", path, *options, "--format", "html")
    assert "1 span in 1 technique<" in page.output
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"id": "x", "text": ARTICLE}) + "\n", encoding="utf-8")
    batch = invoke(
        "batch", source, "--out", tmp_path / "out", "--model", tiny_model,
        "--threshold", threshold, "--technique", label, "--format", "jsonl",
    )  # fmt: skip
    assert batch.exit_code == 0, batch.output
    assert "1 span in" in batch.output and "1 spans" not in batch.output


def test_test_script_says_it_needs_root_before_installing_packages() -> None:
    script = (REPO / "scripts" / "test.sh").read_text(encoding="utf-8")
    first_install = re.search(r"^(?!\s*(?:#|echo)).*apt-get", script, re.M)
    assert first_install, "scripts/test.sh no longer installs system packages"
    before = script[: first_install.start()]
    notice = re.search(r"echo [^\n]*root[^\n]*>&2", before)
    assert notice, "scripts/test.sh must say it needs root before it runs apt-get"
