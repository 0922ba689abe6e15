"""The article score: share of marked sentences, ranked against the model's reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscan.core.analysis import Analysis, ModelInfo, SentenceScore
from propscan.core.article_score import (
    MEANING,
    REFERENCE_FILE,
    ArticleReference,
    ArticleScore,
    marked_sentences,
    percentile,
    read_reference,
    score_article,
)
from propscan.core.spans import Span
from propscan.errors import PropscanError
from propscan.models.base import DEFAULT_MODEL_DIR

TEXT = "One calm line. Two: traitors and liars! Three is calm. Four is calm too."


BOUNDS = [(0, 14), (15, 39), (40, 54), (55, 72)]
REFERENCE = ArticleReference("test corpus", "test 0", 0.15, (0.0, 0.0, 0.1, 0.25, 0.5, 0.8))


def score(spans: tuple[Span, ...], threshold: float | None = 0.15, every_mark: bool = True):
    return score_article(BOUNDS, spans, REFERENCE, threshold=threshold, every_mark=every_mark)


def test_marked_sentences_count_sentences_holding_a_span() -> None:
    found = (Span(20, 28, "Name_Calling,Labeling", 0.4), Span(33, 38, "Doubt", None))
    assert marked_sentences(BOUNDS, found) == 1
    assert marked_sentences(BOUNDS, (Span(10, 20, "Doubt", 0.3),)) == 2  # across two sentences


def test_article_score_against_a_reference() -> None:
    found = score((Span(20, 28, "Doubt", 0.4),))
    assert (found.marked_sentences, found.sentences, found.share) == (1, 4, 0.25)
    assert found.percentile == pytest.approx(100 * 3 / 6)  # 0, 0, 0.1 are smaller
    assert found.reference == "test corpus as test 0 marks them" and found.note is None
    assert "Article score 50 of 100" in found.headline()
    assert "1 of 4 sentences marked" in found.headline()
    assert score(()).percentile == 0.0


@pytest.mark.parametrize(
    ("threshold", "every_mark", "reference", "note"),
    [
        (
            0.3,
            True,
            REFERENCE,
            "marks made at threshold 0.30, the reference at the model's own 0.15",
        ),
        (None, True, REFERENCE, "marks made at an unknown threshold"),
        (0.15, False, REFERENCE, "only some techniques or bands kept"),
        (0.15, True, None, "this model has no reference articles"),
    ],
)
def test_an_article_made_otherwise_than_its_reference_is_not_ranked(
    threshold: float | None, every_mark: bool, reference: ArticleReference | None, note: str
) -> None:
    """The reference counts every mark at the model's own threshold: nothing else compares."""
    found = score_article(
        BOUNDS, (Span(20, 28, "Doubt", 0.4),), reference, threshold=threshold, every_mark=every_mark
    )
    assert found.percentile is None and note in (found.note or "")
    assert found.share == 0.25  # the share is still given
    assert found.headline().startswith("Article score not ranked (")


def test_an_analysis_without_a_given_score_is_scored_unranked() -> None:
    """Every analysis has an article score: one made without a reference counts its marks."""
    found = Analysis(
        text=TEXT,
        spans=(Span(20, 28, "Doubt", 0.4),),
        sentences=tuple(SentenceScore(start, end, 0.0) for start, end in BOUNDS),
        model=ModelInfo("test", "0"),
    ).article_score
    assert (found.marked_sentences, found.sentences, found.percentile) == (1, 4, None)


def test_article_score_json_round_trip_and_errors() -> None:
    found = score((Span(20, 28, "Doubt", 0.4),))
    assert ArticleScore.from_dict(found.to_dict()) == found
    assert set(found.to_dict()) == {
        "marked_sentences",
        "sentences",
        "share",
        "percentile",
        "reference",
        "note",
    }
    for bad, message in [
        ([], "expected a JSON object"),
        ({**found.to_dict(), "sentences": -1}, "must be counts"),
        ({**found.to_dict(), "marked_sentences": 9}, "more marked sentences than sentences"),
        ({**found.to_dict(), "percentile": 101}, "'percentile' must be a number in 0..100"),
        ({**found.to_dict(), "percentile": "high"}, "'percentile' must be a number in 0..100"),
        ({**found.to_dict(), "note": 3}, "must be strings or null"),
    ]:
        with pytest.raises(PropscanError, match=message):
            ArticleScore.from_dict(bad)


def test_the_meaning_is_one_sentence() -> None:
    assert MEANING.count(". ") == 0 and MEANING.endswith(".")


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
    assert reference.model == "propscan-minilm 0.3.3"
