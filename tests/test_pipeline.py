"""The analysis pipeline: spans, sentence scores, filters, batching and the JSON contract."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import propscan
from propscan import pipeline
from propscan.core.analysis import SCHEMA_VERSION, Analysis, ModelInfo, SentenceScore
from propscan.core.sentences import split_sentences
from propscan.core.spans import Span
from propscan.core.techniques import PTC_14, TechniqueSet
from propscan.errors import PropscanError
from propscan.models import registry
from propscan.models.base import Prediction, TokenScore, TokenScores
from propscan.pipeline import analyze, analyze_many, load_model, score_sentences
from propscan.ptc.splits import Split


@dataclass
class KeywordDetector:
    """A predictable model: each keyword is a span of its technique, scored as numpy floats."""

    keywords: dict[str, str]
    name: str = "keyword-test"
    version: str = "1.0"
    techniques: TechniqueSet = PTC_14
    batches: list[int] = field(default_factory=list)
    thresholds: list[float | None] = field(default_factory=list)

    def predict(self, texts: Sequence[str], threshold: float | None = None) -> list[Prediction]:
        self.batches.append(len(texts))
        self.thresholds.append(threshold)
        return [self._predict_one(text, 0.5 if threshold is None else threshold) for text in texts]

    def _predict_one(self, text: str, threshold: float) -> Prediction:
        tokens = [
            TokenScore(m.start(), m.end(), np.float32(0.9 if m.group() in self.keywords else 0.1))
            for m in re.finditer(r"\w+", text)
        ]
        spans = [
            Span(token.start, token.end, self.keywords[text[token.start : token.end]], 0.8)
            for token in tokens
            if text[token.start : token.end] in self.keywords and threshold <= 0.8
        ]
        return Prediction(spans=tuple(reversed(spans)), token_scores=TokenScores.of(tokens))

    def classify(self, text: str, spans: Sequence[Span]) -> list[dict[str, float]]:
        return [{self.keywords.get(span.fragment(text), "Doubt"): 1.0} for span in spans]

    def save(self, directory: str | os.PathLike[str]) -> Path:
        raise NotImplementedError("a test double is never saved")


KEYWORDS = {"traitors": "Name_Calling,Labeling", "disgraceful": "Loaded_Language"}
TEXT = "Calm opening line.\nThese traitors act.\nA disgraceful, disgraceful deal. Fine words"


@pytest.fixture
def detector() -> KeywordDetector:
    return KeywordDetector(dict(KEYWORDS))


@pytest.fixture(scope="module")
def edge_texts(dev_split: Split) -> dict[str, str]:
    """Texts that break offset arithmetic: emoji and accents, CRLF, and a long article."""
    real = dev_split.articles[0].text
    return {
        "unicode": "Ça 🎉 va? Les traîtres 👍🏽 mentent!\n" + real,
        "crlf": real.replace("\n", "\r\n"),
        "long": "\n".join(article.text for article in dev_split.articles[:8]),
    }


def assert_fragments_match(analysis: Analysis) -> None:
    for item in analysis.to_dict()["spans"]:
        assert analysis.text[item["start"] : item["end"]] == item["fragment"]


def test_spans_are_sorted_and_sentences_scored_by_their_tokens(
    detector: KeywordDetector,
) -> None:
    analysis = analyze(TEXT, detector, title="T", url="https://example.org/a", source="Ex")
    assert [s.fragment(TEXT) for s in analysis.spans] == ["traitors", "disgraceful", "disgraceful"]
    assert [s.start for s in analysis.spans] == sorted(s.start for s in analysis.spans)
    assert [TEXT[s.start : s.end] for s in analysis.sentences] == [
        "Calm opening line.",
        "These traitors act.",
        "A disgraceful, disgraceful deal.",
        "Fine words",
    ]
    assert [round(s.score, 2) for s in analysis.sentences] == [0.1, 0.9, 0.9, 0.1]
    assert analysis.model == ModelInfo("keyword-test", "1.0")
    assert (analysis.title, analysis.url, analysis.source) == ("T", "https://example.org/a", "Ex")
    assert analysis.technique_counts() == {"Loaded_Language": 2, "Name_Calling,Labeling": 1}


def test_technique_filter_accepts_lists_and_comma_strings(detector: KeywordDetector) -> None:
    kept = analyze(TEXT, detector, techniques=["Name_Calling,Labeling"])
    assert {s.technique for s in kept.spans} == {"Name_Calling,Labeling"}
    both = analyze(TEXT, detector, techniques="name_calling,labeling, Loaded_Language")
    assert len(both.spans) == 3


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Loaded_Language,Propaganda", "unknown technique 'Propaganda'"),
        ("Name_Calling", "unknown technique 'Name_Calling'"),
        ("Straw_Men", "merges it into 'Whataboutism,Straw_Men,Red_Herring'"),
        (" , ", "no technique given"),
    ],
)
def test_bad_technique_filters_are_refused(
    detector: KeywordDetector, value: str, message: str
) -> None:
    with pytest.raises(PropscanError, match=re.escape(message)):
        analyze(TEXT, detector, techniques=value)


@pytest.mark.parametrize("threshold", [-0.01, 1.5, math.nan, "0.5", True])
def test_threshold_outside_unit_interval_is_refused(
    detector: KeywordDetector, threshold: object
) -> None:
    with pytest.raises(PropscanError, match="threshold must be"):
        analyze(TEXT, detector, threshold=threshold)  # type: ignore[arg-type]
    assert detector.batches == []


def test_threshold_reaches_the_model_and_is_recorded(detector: KeywordDetector) -> None:
    analysis = analyze(TEXT, detector, threshold=0.95)
    assert detector.thresholds == [0.95]
    assert analysis.threshold == 0.95 and analysis.spans == ()
    assert analyze(TEXT, detector).threshold is None


@pytest.mark.parametrize("text", ["", "   \n\r\n\t"])
def test_empty_article_is_refused(detector: KeywordDetector, text: str) -> None:
    with pytest.raises(PropscanError, match="the article is empty"):
        analyze(text, detector)


def test_analyze_many_batches_texts_and_matches_analyze(detector: KeywordDetector) -> None:
    count = 2 * pipeline.BATCH_SIZE + 8
    texts = [f"Text {i} has traitors." if i % 3 else f"Plain text {i}." for i in range(count)]
    many = analyze_many(texts, detector)
    assert detector.batches == [pipeline.BATCH_SIZE, pipeline.BATCH_SIZE, 8]
    assert many == [analyze(text, detector) for text in texts]


def test_analyze_many_names_the_empty_article(detector: KeywordDetector) -> None:
    with pytest.raises(PropscanError, match="article 2 of 3 is empty"):
        analyze_many(["One.", " ", "Three."], detector)


def test_to_dict_is_the_json_contract_in_plain_types(detector: KeywordDetector) -> None:
    analysis = analyze(TEXT, detector)
    data = json.loads(json.dumps(analysis.to_dict()))
    assert list(data) == [
        "schema_version", "text", "title", "url", "source", "spans", "sentences", "model",
        "threshold",
    ]  # fmt: skip
    assert data["schema_version"] == SCHEMA_VERSION
    assert set(data["spans"][0]) == {"start", "end", "technique", "score", "fragment"}
    assert set(data["sentences"][0]) == {"start", "end", "score"}
    assert data["model"] == {"name": "keyword-test", "version": "1.0", "techniques": list(PTC_14)}
    assert all(type(s.score) is float for s in analysis.sentences)
    assert_fragments_match(analysis)


def test_from_dict_reverses_to_dict(detector: KeywordDetector) -> None:
    analysis = analyze(TEXT, detector, threshold=0.3, title="T", url="https://x.org", source="X")
    assert Analysis.from_dict(json.loads(json.dumps(analysis.to_dict()))) == analysis


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(schema_version=99), "schema version 99 is not supported"),
        (lambda d: d["spans"][0].update(fragment="nope"), r"spans\[0\]: fragment 'nope'"),
        (lambda d: d["spans"][0].update(end=10_000), r"spans\[0\]: offsets .* do not fit"),
        (lambda d: d["spans"][0].update(technique="Lies"), "unknown technique 'Lies'"),
        (lambda d: d["spans"][0].update(score=3), "score must be a number between 0 and 1"),
        (lambda d: d["sentences"][0].pop("start"), r"field 'start' is missing"),
        (lambda d: d.pop("model"), "field 'model' is missing"),
    ],
)
def test_from_dict_refuses_inconsistent_input(
    detector: KeywordDetector, change: object, message: str
) -> None:
    data = analyze(TEXT, detector).to_dict()
    change(data)  # type: ignore[operator]
    with pytest.raises(PropscanError, match=message):
        Analysis.from_dict(data)


def test_score_sentences_handles_straddling_tokens_and_no_tokens() -> None:
    text = "One two. Three four."
    no_tokens = TokenScores.of()
    assert score_sentences(text, no_tokens) == (SentenceScore(0, 8, 0.0), SentenceScore(9, 20, 0.0))
    straddling = TokenScores.of([TokenScore(4, 11, 0.7), TokenScore(15, 19, 0.2)])
    assert [s.score for s in score_sentences(text, straddling)] == [0.7, 0.7]
    assert score_sentences("", straddling) == ()


@given(
    st.lists(st.sampled_from(["Word", "word.", "Two!", "\n", " ", "U.S.", "x", "…"]), max_size=30),
    st.lists(st.tuples(st.integers(0, 3), st.integers(1, 9), st.floats(0, 1)), max_size=25),
)
def test_sentence_scores_equal_a_scan_of_every_token_and_sentence(
    pieces: list[str], tokens: list[tuple[int, int, float]]
) -> None:
    """Each sentence gets the highest score of the tokens overlapping it, as a scan of
    every token against every sentence finds it."""
    text = " ".join(pieces)
    scores, position = [], 0
    for gap, length, score in tokens:
        start = position + gap
        if start + length > len(text):
            break
        scores.append(TokenScore(start, start + length, score))
        position = start + length
    bounds = split_sentences(text)
    expected = [
        max([t.score for t in scores if t.start < end and t.end > start], default=0.0)
        for start, end in bounds
    ]
    found = score_sentences(text, TokenScores.of(scores))
    assert [(s.start, s.end) for s in found] == bounds
    assert [s.score for s in found] == expected
    assert list(TokenScores.of(scores)) == scores


def test_missing_shipped_model_gives_a_helpful_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(registry, "DEFAULT_MODEL_DIR", tmp_path / "default_model")
    with pytest.raises(PropscanError, match="ships no model; pass a model directory"):
        load_model()


def test_shipped_model_is_loaded_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model: Path
) -> None:
    shipped = shutil.copytree(tiny_model, tmp_path / "default_model")
    monkeypatch.setattr(registry, "DEFAULT_MODEL_DIR", shipped)
    assert load_model() is load_model() is load_model("default")
    assert analyze("These traitors lie to you every day.").model.name == load_model().name


def test_real_article_with_the_tiny_model(tiny_model: Path, dev_split: Split) -> None:
    article = dev_split.articles[1]
    analysis = analyze(article.text, tiny_model, threshold=0.2)
    assert analysis.spans, "a low threshold should find spans in a real article"
    assert all(0.0 <= (s.score or 0.0) <= 1.0 for s in analysis.spans)
    assert max(s.score for s in analysis.sentences) > 0.0
    assert_fragments_match(analysis)
    detector = load_model(tiny_model)
    assert analyze(article.text, detector, threshold=0.2) == analysis
    assert analyze(article.text, str(tiny_model), threshold=0.2) == analysis


@pytest.mark.parametrize("kind", ["unicode", "crlf", "long"])
def test_offsets_hold_for_hard_texts(
    tiny_model: Path, edge_texts: dict[str, str], kind: str
) -> None:
    analysis = analyze(edge_texts[kind], tiny_model, threshold=0.2)
    assert analysis.spans
    assert_fragments_match(analysis)
    assert Analysis.from_dict(analysis.to_dict()) == analysis


def test_public_api_is_exported_lazily(tiny_model: Path) -> None:
    assert propscan.Analysis is Analysis and propscan.Span is Span
    assert propscan.analyze("These traitors lie.", propscan.load_model(tiny_model)).text
    with pytest.raises(AttributeError):
        _ = propscan.no_such_name  # type: ignore[attr-defined]
