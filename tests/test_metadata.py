"""A folder of .txt files with a sidecar metadata.csv: outlet, date, title and URL per file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from propscan.batch.inputs import read_records
from propscan.batch.metadata import METADATA_FILE
from propscan.batch.run import run_batch
from propscan.cli import app
from propscan.errors import PropscanError

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three articles: two plain files and one in a sub-folder of a PTC-like root."""
    root = tmp_path / "articles"
    root.mkdir()
    (root / "story1.txt").write_text("Storm hits coast\n\nThe storm came at night.", "utf-8")
    (root / "story2.txt").write_text("Vote delayed\n\nThe vote was delayed again.", "utf-8")
    (root / "article111.txt").write_text("Council meets\n\nThe council met today.", "utf-8")
    return root


def metadata(folder: Path, text: str | bytes) -> Path:
    path = folder / METADATA_FILE
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return folder


def articles(folder: Path) -> dict[str, tuple[str | None, str | None, str | None, str | None]]:
    return {
        r.article.id: (r.article.source, r.article.date, r.article.title, r.article.url)
        for r in read_records(folder)
        if r.article is not None
    }


def test_outlet_date_title_and_url_come_from_the_sidecar(folder: Path) -> None:
    metadata(
        folder,
        "\ufeffFile,Outlet,Date,URL\n"  # a byte-order mark and capitals, as spreadsheets save
        "story1.txt,Coast Herald,2024-05-31,https://herald.example/storm\n"
        "story2.txt,,2024-06-01T08:30:00+02:00,\n",
    )
    found = articles(folder)
    assert found["story1"] == (
        "Coast Herald", "2024-05-31", "Storm hits coast", "https://herald.example/storm"
    )  # fmt: skip
    assert found["story2"] == (None, "2024-06-01T08:30:00+02:00", "Vote delayed", None)
    assert found["111"] == (None, None, "Council meets", None)  # not listed: as before


def test_articles_can_be_named_by_id_and_titles_given(folder: Path) -> None:
    metadata(folder, "id,source,title\n111,City Paper,The council's new plan\n")
    assert articles(folder)["111"] == ("City Paper", None, "The council's new plan", None)


def test_a_folder_without_a_sidecar_reads_as_before(folder: Path) -> None:
    assert articles(folder)["story1"] == (None, None, "Storm hits coast", None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("file,outet\nstory1.txt,X\n", "unknown column 'outet'; use 'file' or 'id'"),
        ("source,date\nX,2024-01-01\n", "needs exactly one of the columns 'file' and 'id'"),
        ("file,id,source\nstory1.txt,story1,X\n", "needs exactly one of the columns"),
        ("file\nstory1.txt\n", "no metadata column"),
        ("file,source,outlet\nstory1.txt,X,Y\n", "a column is given twice"),
        ("", "empty; give a header line"),
        ("file,source\nstory1.txt,X,extra\n", ":2: not as many cells as the header's 2 columns"),
        ("file,source,date\nstory1.txt,X\n", ":2: not as many cells"),
        ("file,source\n ,X\n", ":2: empty 'file'; name the article"),
        ("file,source\nstory1.txt,X\nstory1.txt,Y\n", ":3: 'story1.txt' is listed twice"),
        ("file,source\nstory9.txt,X\n", ":2: no article 'story9.txt' in"),
        ("id,source\nstory1.txt,X\n", "names an article id"),
        ("file,date\nstory1.txt,31/05/2024\n", ":2: date '31/05/2024' is not an ISO 8601 date"),
        ('file,source\nstory1.txt,"unclosed\n', "not valid CSV"),
        ('"file,source\nstory1.txt,X\n', "not valid CSV"),
        (b"file,source\nstory1.txt,Caf\xe9\n", ":2: not valid UTF-8"),
    ],
)
def test_a_malformed_sidecar_is_one_clear_error(
    folder: Path, content: str | bytes, message: str
) -> None:
    metadata(folder, content)
    with pytest.raises(PropscanError, match=message.replace("(", r"\(").replace("?", r"\?")):
        list(read_records(folder))


def test_a_malformed_sidecar_stops_the_cli_before_anything_is_written(
    folder: Path, tmp_path: Path, tiny_model: Path
) -> None:
    metadata(folder, "file,date\nstory1.txt,yesterday\n")
    out = tmp_path / "results"
    result = runner.invoke(
        app, ["batch", str(folder), "--out", str(out), "--model", str(tiny_model)]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "date 'yesterday'" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not out.exists()  # fixed and run again, it needs no --resume


def test_outlets_and_dates_reach_the_tables(folder: Path, tmp_path: Path, tiny_model: Path) -> None:
    from propscan.batch.results import read_results

    metadata(folder, "file,outlet,date\nstory1.txt,Herald,2024-05-31\nstory2.txt,Post,2024-06-01\n")
    run_batch(folder, tmp_path / "results", model=tiny_model, progress=False)
    table = read_results(tmp_path / "results").articles.to_pylist()
    assert {row["id"]: (row["source"], row["date"]) for row in table} == {
        "story1": ("Herald", "2024-05-31"),
        "story2": ("Post", "2024-06-01"),
        "111": (None, None),
    }
