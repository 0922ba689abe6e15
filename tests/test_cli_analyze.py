"""``propscan analyze`` end to end: inputs, output formats and one-line errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_fetch import serve_site
from typer.testing import CliRunner, Result

import propscan
from propscan.cli import app
from propscan.core.spans import Article
from propscan.pipeline import analyze
from propscan.ptc.io import parse_labels
from propscan.ptc.splits import Split

runner = CliRunner()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve_site() as url:
        yield url


@pytest.fixture(scope="module")
def article(dev_split: Split) -> Article:
    return dev_split.articles[2]


@pytest.fixture
def article_file(tmp_path: Path, article: Article) -> Path:
    path = tmp_path / f"article{article.id}.txt"
    path.write_bytes(article.text.encode("utf-8"))
    return path


def run(*args: str | Path, input: str | bytes | None = None) -> Result:
    return runner.invoke(app, ["analyze", *map(str, args)], input=input)


def run_json(*args: str | Path, input: str | bytes | None = None) -> dict:
    result = run(*args, "--format", "json", input=input)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_text_output_is_plain_when_not_a_terminal(article_file: Path, tiny_model: Path) -> None:
    result = run(article_file, "--model", tiny_model, "--threshold", "0.2")
    assert result.exit_code == 0, result.stderr
    assert "\x1b[" not in result.stdout
    first_line = article_file.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first_line.split()[0] in result.stdout
    assert "Spans" in result.stdout and "Techniques:" in result.stdout


def test_json_output_matches_the_library(
    article_file: Path, article: Article, tiny_model: Path
) -> None:
    data = run_json(article_file, "--model", tiny_model, "--threshold", "0.2")
    expected = analyze(article.text, tiny_model, threshold=0.2).to_dict()
    assert data == json.loads(json.dumps(expected))
    assert data["spans"], "a low threshold finds spans in a real article"
    assert all(data["text"][s["start"] : s["end"]] == s["fragment"] for s in data["spans"])


def test_ptc_output_uses_the_article_id_from_the_file_name(
    article_file: Path, article: Article, tiny_model: Path
) -> None:
    result = run(article_file, "--model", tiny_model, "--format", "ptc", "--threshold", "0.2")
    assert result.exit_code == 0, result.stderr
    labels = parse_labels(result.stdout, Path("stdout"), "flc", {article.id: article})
    assert labels.article_ids == [article.id] and len(labels) > 0


def test_html_report_is_written_to_out(
    article_file: Path, tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports" / "report.html"
    result = run(article_file, "--model", tiny_model, "--format", "html", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert result.stdout == "" and f"Wrote html to {out}" in result.stderr


def test_text_written_to_out_is_plain(article_file: Path, tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "analysis.txt"
    result = run(article_file, "--model", tiny_model, "--threshold", "0.2", "--out", out)
    assert result.exit_code == 0, result.stderr
    written = out.read_text(encoding="utf-8")
    assert "Spans" in written and "\x1b[" not in written


def test_out_dash_is_standard_output(
    article_file: Path, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(article_file, "--model", tiny_model, "--format", "ptc", "--out", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout and not (tmp_path / "-").exists()
    assert result.stdout == run(article_file, "--model", tiny_model, "--format", "ptc").stdout


def test_stdin_keeps_crlf_and_emoji_offsets(tiny_model: Path, article: Article) -> None:
    text = "Ça 🎉 va?\r\n" + article.text.replace("\n", "\r\n")
    data = run_json("-", "--model", tiny_model, "--threshold", "0.2", input=text.encode())
    assert data["text"] == text
    assert data["spans"]
    assert all(text[s["start"] : s["end"]] == s["fragment"] for s in data["spans"])
    ptc = run("-", "--model", tiny_model, "--format", "ptc", "--threshold", "0.2", input=text)
    assert ptc.stdout.startswith("stdin\t")


def test_technique_filter_with_labels_containing_commas(
    article_file: Path, tiny_model: Path
) -> None:
    keep = "Name_Calling,Labeling,Black-and-White_Fallacy"
    data = run_json(article_file, "--model", tiny_model, "--threshold", "0.1", "--techniques", keep)
    assert data["spans"]
    kept = {"Name_Calling,Labeling", "Black-and-White_Fallacy"}
    assert {s["technique"] for s in data["spans"]} <= kept


def test_url_input_with_private_addresses_allowed(site: str, tiny_model: Path) -> None:
    data = run_json(f"{site}/article", "--model", tiny_model, "--allow-private-urls")
    assert data["title"] == "Senate fight"
    assert data["url"] == f"{site}/article" and data["source"] == "Daily Example"
    assert "disgraceful betrayal" in data["text"]


@pytest.fixture
def bad_inputs(tmp_path: Path, site: str) -> dict[str, str]:
    undecodable = tmp_path / "latin1.txt"
    undecodable.write_bytes("Une idée\nfolle".encode("latin-1"))
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n\n", encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    return {
        "missing": str(tmp_path / "nowhere.txt"),
        "undecodable": str(undecodable),
        "empty": str(empty),
        "closed-port": f"http://127.0.0.1:{closed}/news",
        "no-article": f"{site}/empty",
        "private": f"{site}/article",
    }


@pytest.mark.parametrize(
    ("input_kind", "options", "message"),
    [
        ("missing", [], "nowhere.txt: no such file"),
        ("undecodable", [], "latin1.txt:1: not valid UTF-8"),
        ("empty", [], "empty.txt is empty"),
        ("closed-port", ["--allow-private-urls"], "cannot connect to 127.0.0.1: it refused"),
        ("no-article", ["--allow-private-urls"], "no article text found"),
        ("private", [], "pass --allow-private-urls"),
        ("missing", ["--techniques", "Loaded_Language,Lies"], "unknown technique 'Lies'"),
        ("missing", ["--threshold", "1.5"], "threshold must be between 0 and 1"),
        ("missing", ["--threshold", "-0.5"], "threshold must be between 0 and 1"),
        ("missing", ["--min-band", "loud"], "unknown confidence band 'loud'"),
        ("missing", ["--min-band", "strnog"], "did you mean 'strong'?"),
    ],
)
def test_errors_exit_2_with_one_line(
    bad_inputs: dict[str, str], tiny_model: Path, input_kind: str, options: list[str], message: str
) -> None:
    result = run(bad_inputs[input_kind], "--model", tiny_model, *options)
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_model_directory_errors_are_user_errors(article_file: Path, tmp_path: Path) -> None:
    result = run(article_file, "--model", tmp_path)
    assert result.exit_code == 2
    assert "not a propscan model directory" in result.stderr


def test_python_dash_m_propscan_runs_the_same_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "propscan", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"propscan {propscan.__version__}"


def test_a_reader_that_stops_early_ends_the_command_quietly(
    tiny_model: Path, tmp_path: Path
) -> None:
    """``propscan analyze big.txt | head -1``: status 141 as for any tool that SIGPIPE
    stops, not the 1 that means a bug, and nothing on stderr."""
    article = tmp_path / "big.txt"
    article.write_text("They lie to you. Shameful traitors!\n" * 5000, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "propscan",
        "analyze",
        str(article),
        "--model",
        str(tiny_model),
    ]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert run.stdout is not None and run.stderr is not None
    run.stdout.readline()
    run.stdout.close()
    assert (run.wait(timeout=120), run.stderr.read()) == (141, b"")
