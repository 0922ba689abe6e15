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

import propscan
from propscan import pipeline
from propscan.core.analysis import SCHEMA_VERSION, Analysis, Evidence, ModelInfo
from propscan.core.article_score import REFERENCE_FILE, ArticleReference
from propscan.core.spans import Span
from propscan.core.techniques import PTC_14, TechniqueSet
from propscan.errors import PropscanError
from propscan.models import registry
from propscan.models.base import Prediction, TokenScore, TokenScores
from propscan.pipeline import analyze, analyze_many, load_model, span_evidence
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
    decision_threshold: float = 0.5
    directory: Path | None = None

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


def test_spans_are_sorted_and_sentences_scored_by_their_spans(
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
    # a sentence scores as its most confident span: the numbers agree with the marks shown
    assert [round(s.score, 2) for s in analysis.sentences] == [0.0, 0.8, 0.8, 0.0]
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
    # without one, the model's own threshold is used and recorded: never unknown
    assert analyze(TEXT, detector).threshold == detector.decision_threshold
    assert detector.thresholds[-1] is None


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
        "threshold", "min_band", "kept_techniques", "article_score",
    ]  # fmt: skip
    assert data["schema_version"] == SCHEMA_VERSION
    assert set(data["spans"][0]) == {
        "start", "end", "technique", "score", "band", "fragment", "quote", "evidence"
    }  # fmt: skip
    assert data["spans"][0]["band"] == "strong" and data["spans"][0]["quote"] is None
    assert data["spans"][0]["evidence"] == [
        {"word": "traitors", "start": 25, "end": 33, "score": pytest.approx(0.9)}
    ]
    assert set(data["sentences"][0]) == {"start", "end", "score"}
    assert data["model"] == {"name": "keyword-test", "version": "1.0", "techniques": list(PTC_14)}
    assert all(type(s.score) is float for s in analysis.sentences)
    assert_fragments_match(analysis)


def test_from_dict_reverses_to_dict(detector: KeywordDetector) -> None:
    analysis = analyze(TEXT, detector, threshold=0.3, title="T", url="https://x.org", source="X")
    assert analysis.evidence
    assert Analysis.from_dict(json.loads(json.dumps(analysis.to_dict()))) == analysis
    filtered = analyze(TEXT, detector, techniques="Loaded_Language", min_band="moderate")
    assert Analysis.from_dict(json.loads(json.dumps(filtered.to_dict()))) == filtered


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
        (lambda d: d.update(min_band="loud"), "unknown confidence band 'loud'"),
        (lambda d: d.update(kept_techniques=["Lies"]), "unknown technique 'Lies'"),
        (lambda d: d["article_score"].update(sentences="4"), "must be counts"),
        (lambda d: d["spans"][0]["evidence"][0].update(end=99), "lie outside the span"),
        (lambda d: d["spans"][0].update(evidence="traitors"), "must be a list of words"),
    ],
)
def test_from_dict_refuses_inconsistent_input(
    detector: KeywordDetector, change: object, message: str
) -> None:
    data = analyze(TEXT, detector).to_dict()
    change(data)  # type: ignore[operator]
    with pytest.raises(PropscanError, match=message):
        Analysis.from_dict(data)


def test_min_band_keeps_a_band_and_the_stronger_ones(detector: KeywordDetector) -> None:
    """The keyword spans score 0.8 (strong): a strong filter keeps them, and the analysis
    records it; an unknown band is refused before the model runs."""
    analysis = analyze(TEXT, detector, min_band="STRONG")
    assert len(analysis.spans) == 3 and analysis.min_band == "strong"
    with pytest.raises(PropscanError, match="unknown confidence band 'loud'"):
        analyze(TEXT, detector, min_band="loud")
    assert detector.batches == [1]


def test_min_band_drops_weaker_spans() -> None:
    weak = KeywordDetector(dict(KEYWORDS))
    weak._predict_one = lambda text, threshold: Prediction(  # type: ignore[method-assign]
        (Span(6, 14, "Doubt", 0.2), Span(25, 33, "Doubt", 0.5))
    )
    text = "These traitors and these traitors."
    assert [s.score for s in analyze(text, weak, min_band="moderate").spans] == [0.5]
    assert len(analyze(text, weak, min_band="weak").spans) == 2


def test_evidence_ranks_the_words_of_a_span_by_their_tokens() -> None:
    """Each span keeps its most probable words (a word is its best token; stop words only
    when nothing else is left; a repeated word once), offsets indexing the text."""
    text = "the grave grave threat of the evil plan"
    tokens = TokenScores.of(
        [TokenScore(0, 3, 0.99), TokenScore(4, 7, 0.2), TokenScore(7, 9, 0.6),
         TokenScore(10, 15, 0.5), TokenScore(16, 22, 0.7), TokenScore(23, 25, 0.99),
         TokenScore(26, 29, 0.99), TokenScore(30, 34, 0.8), TokenScore(35, 39, 0.1)]
    )  # fmt: skip
    found = span_evidence(text, [Span(0, 39, "Doubt"), Span(0, 3, "Doubt")], tokens)
    words = [(text[e.start : e.end], e.score) for e in found[(0, 39)]]
    assert words == [("evil", 0.8), ("threat", 0.7), ("grave", 0.6)]
    assert found[(0, 3)] == (Evidence(0, 3, 0.99),)  # only a stop word: it is kept
    assert span_evidence(text, [Span(0, 9, "Doubt")], TokenScores.of()) == {}


def test_the_article_score_is_ranked_against_the_model_reference(
    detector: KeywordDetector, tmp_path: Path
) -> None:
    reference = ArticleReference("test", "keyword-test 1.0", 0.5, (0.0, 0.1, 0.6, 0.9))
    (tmp_path / REFERENCE_FILE).write_text(json.dumps(reference.to_dict()))
    detector.directory = tmp_path
    ranked = analyze(TEXT, detector).article_score
    assert (ranked.marked_sentences, ranked.sentences, ranked.percentile) == (2, 4, 50.0)
    assert analyze(TEXT, detector, threshold=0.4).article_score.percentile is None
    kept = analyze(TEXT, detector, techniques="Loaded_Language").article_score
    assert kept.percentile is None and "only some techniques" in (kept.note or "")
    every = analyze(TEXT, detector, techniques=list(PTC_14), min_band="weak").article_score
    assert every.percentile == 50.0  # keeping every technique and band keeps every mark


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


@pytest.mark.parametrize("line_break", ["\r", "\u2028", "\x85"])
def test_every_kind_of_line_break_ends_a_line_for_the_model(line_break: str) -> None:
    """A text whose lines end in a bare CR or U+2028 gets the marks its LF twin gets (the
    same offsets, as each break is one character): phrases never join across lines."""
    from propscan.examples import sample_text

    text = sample_text()
    other = text.replace("\n", line_break)
    expected = analyze(text).spans
    found = analyze(other).spans
    assert found == expected and len(found) >= 5
    assert all(
        other[span.start : span.end] == text[span.start : span.end].replace("\n", line_break)
        for span in found
    )


def test_the_models_own_threshold_given_explicitly_changes_nothing() -> None:
    """``--threshold`` at the tuned value marks what no threshold marks; above it, a
    subset of those marks; below it, more of the text."""
    from propscan.examples import sample_text

    text = sample_text()
    model = load_model()
    tuned = model.decision_threshold
    default = analyze(text, model)
    assert analyze(text, model, threshold=tuned).spans == default.spans
    assert set(analyze(text, model, threshold=min(1.0, tuned + 0.1)).spans) < set(default.spans)
    marked = {i for span in default.spans for i in range(span.start, span.end)}
    lower = analyze(text, model, threshold=tuned / 2).spans
    assert marked < {i for span in lower for i in range(span.start, span.end)}


def test_decomposed_accents_stay_with_their_letters() -> None:
    """In NFD text (letter + combining accent) no mark or key word starts or ends between
    a letter and its accent, and the marks are those of its composed (NFC) twin."""
    import unicodedata

    from propscan.examples import sample_text

    accented = sample_text().replace("e", "\u00e9").replace("a", "\u00e1")
    text = unicodedata.normalize("NFD", accented)
    analysis = analyze(text)
    edges = [(span.start, span.end) for span in analysis.spans]
    edges += [(e.start, e.end) for span in analysis.spans for e in analysis.evidence_of(span)]
    assert len(analysis.spans) >= 3
    assert not [
        edge for edge in edges if any(unicodedata.combining(text[i]) for i in edge if i < len(text))
    ]
    composed = analyze(accented)
    assert [
        (span.technique, unicodedata.normalize("NFC", text[span.start : span.end]))
        for span in analysis.spans
    ] == [(span.technique, accented[span.start : span.end]) for span in composed.spans]


def test_wrong_arguments_are_one_clear_error() -> None:
    with pytest.raises(PropscanError, match="model must be a model name, a model directory"):
        load_model(3)  # type: ignore[arg-type]
    with pytest.raises(PropscanError, match="got int 3"):
        analyze("They are traitors.", 3)  # type: ignore[arg-type]
    with pytest.raises(PropscanError, match="analyze_many takes a list of texts"):
        analyze_many("They are traitors.")


def test_analyze_many_takes_any_iterable_of_texts() -> None:
    texts = ["They are traitors and liars.", "The council met on Friday."]
    from_generator = analyze_many(text for text in texts)
    assert [a.to_dict() for a in from_generator] == [a.to_dict() for a in analyze_many(texts)]
