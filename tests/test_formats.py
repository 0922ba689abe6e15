"""The format table: the CLI's --format choices and the service's downloads follow it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from propscan.cli import app
from propscan.errors import PropscanError
from propscan.examples import sample_article, sample_text
from propscan.pipeline import analyze
from propscan.render.formats import (
    FORMATS,
    download_format,
    downloads,
    format_help,
    output_format,
)
from propscan.service import create_app

runner = CliRunner()


def test_every_format_renders_the_same_in_the_cli_as_in_the_table(tiny_model: Path) -> None:
    article = sample_article()
    analysis = analyze(article.text, tiny_model, title=article.title)
    command = ["analyze", "--example", "--model", str(tiny_model), "--format"]
    for name, fmt in FORMATS.items():
        if name == "text":  # the terminal view depends on the terminal's width
            continue
        result = runner.invoke(app, [*command, name])
        assert result.exit_code == 0, result.output
        assert result.stdout == fmt.render(analysis, article.id), name


def test_help_and_errors_name_every_format() -> None:
    assert format_help() == (
        "text: highlighted article; json: all results; ptc: SemEval FLC lines; "
        "html: a self-contained report page."
    )
    with pytest.raises(PropscanError, match="use one of text, json, ptc, html"):
        output_format("xml")


def test_the_service_offers_each_format_with_a_suffix(tiny_model: Path, tmp_path: Path) -> None:
    app = create_app(model=tiny_model, db_path=tmp_path / "history.db")
    with TestClient(app) as client:
        _check_downloads(client)


def _check_downloads(client: TestClient) -> None:
    created = client.post("/api/analyze", json={"text": sample_text()})
    analysis_id = created.json()["id"]
    page = client.get(f"/a/{analysis_id}").text
    assert [fmt.name for fmt in downloads()] == ["ptc", "html"]
    for fmt in downloads():
        assert f'href="/a/{analysis_id}.{fmt.download_suffix}"' in page
        response = client.get(f"/a/{analysis_id}.{fmt.download_suffix}")
        assert response.status_code == 200
        assert response.headers["content-type"] == fmt.media_type
        assert "attachment" in response.headers["content-disposition"]
    assert download_format("exe") is None
    assert client.get(f"/a/{analysis_id}.exe").status_code == 404
