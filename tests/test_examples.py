"""The sample article shipped in the package and ``propscan analyze --example``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from propscan.cli import app
from propscan.examples import SAMPLE_ARTICLE_ID, sample_article, sample_text

runner = CliRunner()


def test_sample_is_a_short_invented_article_with_a_title() -> None:
    text = sample_text()
    article = sample_article()
    assert article.text == text and article.id == SAMPLE_ARTICLE_ID
    assert article.title == text.split("\n", 1)[0] and len(article.title) < 100
    assert 1_000 < len(text) < 5_000 and text.count("\n\n") >= 4
    assert "invented" in text  # says it is fiction


def test_analyze_example_as_json() -> None:
    result = runner.invoke(app, ["analyze", "--example", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["text"] == sample_text()
    assert payload["spans"]
    for span in payload["spans"]:
        assert span["fragment"] == payload["text"][span["start"] : span["end"]]


def test_analyze_example_in_ptc_lines_uses_the_sample_id() -> None:
    result = runner.invoke(app, ["analyze", "--example", "--format", "ptc"])
    assert result.exit_code == 0, result.output
    assert all(line.startswith("sample\t") for line in result.stdout.splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze"], "give an article: a text file, '-' for standard input, a URL, or --example"),
        (["analyze", "article.txt", "--example"], "or --example, not both"),
    ],
)
def test_input_and_example_errors_are_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
