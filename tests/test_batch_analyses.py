"""Batch results read back as analyses: the tables joined with the texts of the input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from propscan.batch.analyses import TextsUnavailable, read_analyses
from propscan.batch.run import run_batch
from propscan.errors import PropscanError
from propscan.pipeline import analyze
from propscan.ptc.splits import Split


@pytest.fixture
def run(tmp_path: Path, dev_split: Split, tiny_model: Path) -> tuple[Path, Path]:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": a.id, "text": a.text, "title": a.title, "source": "Herald"}) + "\n"
            for a in dev_split.articles[:3]
        ),
        encoding="utf-8",
    )
    run_batch(source, tmp_path / "results", model=tiny_model, progress=False)
    return source, tmp_path / "results"


def test_each_article_is_the_analysis_the_pipeline_made(
    run: tuple[Path, Path], dev_split: Split, tiny_model: Path
) -> None:
    _, results = run
    found = dict(read_analyses(results))
    assert list(found) == [a.id for a in dev_split.articles[:3]]
    for article in dev_split.articles[:3]:
        made = analyze(article.text, tiny_model, title=article.title, source="Herald")
        again = found[article.id]
        assert (again.text, again.spans, again.sentences) == (made.text, made.spans, made.sentences)
        assert again.evidence == made.evidence and again.threshold == made.threshold
        assert (again.article_score.marked_sentences, again.article_score.note) == (
            made.article_score.marked_sentences,
            made.article_score.note,
        )
        assert (again.title, again.source) == (article.title, "Herald")


def test_a_moved_input_is_named_and_a_gone_one_is_said(
    run: tuple[Path, Path], tmp_path: Path
) -> None:
    source, results = run
    moved = source.rename(tmp_path / "moved.jsonl")
    with pytest.raises(TextsUnavailable, match="is gone, and the results hold no article texts"):
        list(read_analyses(results))
    assert len(list(read_analyses(results, moved))) == 3
    with pytest.raises(PropscanError, match=r"--input '.*typo.jsonl': no such file or folder"):
        list(read_analyses(results, tmp_path / "typo.jsonl"))  # not the run's input: a slip


def test_an_input_changed_after_the_run_is_an_error(run: tuple[Path, Path]) -> None:
    source, results = run
    lines = source.read_text(encoding="utf-8").splitlines()
    changed = [json.dumps({**json.loads(line), "text": "Other words. " * 40}) for line in lines]
    source.write_text("\n".join(changed) + "\n", encoding="utf-8")
    with pytest.raises(PropscanError, match="the input changed after the run"):
        list(read_analyses(results))
