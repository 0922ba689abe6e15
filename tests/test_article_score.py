"""The article score: share of marked sentences, ranked against the model's reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscan.core.analysis import Analysis, ModelInfo, SentenceScore
from propscan.core.article_score import (
    REFERENCE_FILE,
    ArticleReference,
    article_score,
    marked_sentences,
    percentile,
    read_reference,
)
from propscan.core.spans import Span
from propscan.errors import PropscanError
from propscan.models.base import DEFAULT_MODEL_DIR

TEXT = "One calm line. Two: traitors and liars! Three is calm. Four is calm too."


def analysis(spans: tuple[Span, ...]) -> Analysis:
    bounds = [(0, 14), (15, 39), (40, 54), (55, 72)]
    return Analysis(
        text=TEXT,
        spans=spans,
        sentences=tuple(SentenceScore(start, end, 0.0) for start, end in bounds),
        model=ModelInfo("test", "0"),
    )


REFERENCE = ArticleReference("test corpus", "test 0", 0.15, (0.0, 0.0, 0.1, 0.25, 0.5, 0.8))


def test_marked_sentences_count_sentences_holding_a_span() -> None:
    found = analysis((Span(20, 28, "Name_Calling,Labeling", 0.4), Span(33, 38, "Doubt", None)))
    assert marked_sentences(found) == (1, 4)
    spanning = analysis((Span(10, 20, "Doubt", 0.3),))  # across two sentences
    assert marked_sentences(spanning) == (2, 4)


def test_article_score_against_a_reference() -> None:
    score = article_score(analysis((Span(20, 28, "Doubt", 0.4),)), REFERENCE)
    assert (score.marked_sentences, score.sentences, score.share) == (1, 4, 0.25)
    assert score.percentile == pytest.approx(100 * 3 / 6)  # 0, 0, 0.1 are smaller
    assert article_score(analysis(()), REFERENCE).percentile == 0.0
    assert article_score(analysis(()), None).percentile is None


@given(st.floats(0, 1), st.floats(0, 1))
def test_percentile_grows_with_the_share(low: float, high: float) -> None:
    low, high = sorted((low, high))
    assert 0.0 <= percentile(low, REFERENCE) <= percentile(high, REFERENCE) <= 100.0


def test_reference_round_trip(tmp_path: Path) -> None:
    (tmp_path / REFERENCE_FILE).write_text(json.dumps(REFERENCE.to_dict()))
    assert read_reference(tmp_path) == REFERENCE
    assert read_reference(tmp_path / "elsewhere") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reference_version": 9}, "not an article reference of version 1"),
        ({"values": []}, "'values' must be a non-empty list"),
        ({"values": [0.1, 2]}, "'values' must be a non-empty list"),
        ({"threshold": "high"}, "'threshold' must be a number"),
        ({"statistic": "marked_characters"}, "is not 'marked_sentence_share'"),
    ],
)
def test_a_malformed_reference_is_a_clear_error(tmp_path: Path, change: dict, message: str) -> None:
    (tmp_path / REFERENCE_FILE).write_text(json.dumps({**REFERENCE.to_dict(), **change}))
    with pytest.raises(PropscanError, match=message):
        read_reference(tmp_path)
    (tmp_path / REFERENCE_FILE).write_text("{not json")
    with pytest.raises(PropscanError, match="cannot read the article reference"):
        read_reference(tmp_path)


def test_the_shipped_model_has_its_reference() -> None:
    reference = read_reference(DEFAULT_MODEL_DIR)
    assert reference is not None
    assert len(reference.values) == 371 and reference.threshold == 0.15
    assert reference.model == "propscan-minilm 0.3.2"
