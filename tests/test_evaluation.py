"""``evaluate``: prediction files in PTC format whose official scores are the ones returned."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from propscan.core.spans import Annotations, Span, to_si_annotations
from propscan.errors import PropscanError
from propscan.evaluation.evaluate import EvaluationResult, classify_gold_spans, evaluate
from propscan.models.baseline.detector import BaselineDetector
from propscan.models.registry import load_detector
from propscan.ptc.io import read_labels
from propscan.ptc.scoring import score_flc, score_si, score_tc
from propscan.ptc.splits import Split


@pytest.fixture(scope="module")
def detector(tiny_model: Path) -> BaselineDetector:
    model = load_detector(tiny_model)
    assert isinstance(model, BaselineDetector)
    return model


@pytest.fixture(scope="module")
def evaluated(
    detector: BaselineDetector, dev_split: Split, tmp_path_factory: pytest.TempPathFactory
) -> tuple[EvaluationResult, Split]:
    articles = dev_split.articles[:4]
    out = tmp_path_factory.mktemp("evaluation") / "out"
    return evaluate(detector, articles, dev_split.gold, out, threshold=0.2), dev_split


def test_writes_the_three_prediction_files(evaluated: tuple[EvaluationResult, Split]) -> None:
    result, _ = evaluated
    assert sorted(path.name for path in result.out_dir.iterdir()) == [
        "flc.labels",
        "si.labels",
        "tc.labels",
    ]
    assert result.articles == 4
    assert result.si.predicted_count > 0


def test_scores_equal_the_scorer_on_the_written_files(
    evaluated: tuple[EvaluationResult, Split],
) -> None:
    result, dev = evaluated
    ids = [article.id for article in dev.articles[:4]]
    by_id = {article.id: article for article in dev.articles[:4]}
    gold = dev.gold.restrict(ids)
    si = read_labels(result.out_dir / "si.labels", "si", by_id)
    flc = read_labels(result.out_dir / "flc.labels", "flc", by_id)
    tc = read_labels(result.out_dir / "tc.labels", "flc", by_id)
    assert score_si(to_si_annotations(gold), si) == result.si
    assert score_flc(gold, flc) == result.flc
    assert score_tc(gold, tc) == result.tc
    assert to_si_annotations(flc) == si  # the SI file is the FLC spans merged


def test_tc_file_labels_exactly_the_gold_spans(evaluated: tuple[EvaluationResult, Split]) -> None:
    result, dev = evaluated
    gold = dev.gold.restrict(article.id for article in dev.articles[:4])
    tc = read_labels(result.out_dir / "tc.labels", "flc")
    assert Counter((aid, s.start, s.end) for aid, s in tc) == Counter(
        (aid, s.start, s.end) for aid, s in gold
    )


def test_summary_and_json(evaluated: tuple[EvaluationResult, Split]) -> None:
    result, _ = evaluated
    summary = result.summary()
    assert summary["si_f1"] == result.si.f1 and summary["flc_f1"] == result.flc.f1
    assert result.tc is not None and summary["tc_micro_f1"] == result.tc.micro_f1
    data = json.loads(json.dumps(result.to_dict()))
    assert data["schema_version"] == 1 and data["articles"] == 4
    assert data["tc"]["task"] == "tc" and data["flc"]["task"] == "flc"
    assert Path(data["files"]["flc"]) == result.out_dir / "flc.labels"


def test_repeated_gold_offsets_get_their_most_probable_techniques(
    detector: BaselineDetector, dev_split: Split
) -> None:
    article = dev_split.articles[0]
    start = article.text.index(" ") + 1
    end = article.text.index(" ", start + 20)
    gold = Annotations(
        {
            article.id: (
                Span(start, end, "Loaded_Language"),
                Span(start, end, "Doubt"),
                Span(0, 5, "Slogans"),
            )
        }
    )
    labelled = classify_gold_spans(detector, [article], gold)
    probabilities = detector.classify(article.text, [Span(start, end)])[0]
    two_best = sorted(probabilities, key=probabilities.__getitem__, reverse=True)[:2]
    twice = [s.technique for s in labelled[article.id] if (s.start, s.end) == (start, end)]
    assert sorted(twice) == sorted(two_best)
    assert len(labelled) == 3


def test_gold_without_techniques_is_refused(
    detector: BaselineDetector, dev_split: Split, tmp_path: Path
) -> None:
    article = dev_split.articles[0]
    gold = Annotations({article.id: (Span(0, 5),)})
    with pytest.raises(PropscanError, match="needs FLC gold labels"):
        evaluate(detector, [article], gold, tmp_path)


def test_gold_beyond_the_article_is_refused(
    detector: BaselineDetector, dev_split: Split, tmp_path: Path
) -> None:
    article = dev_split.articles[0]
    end = len(article.text) + 10
    gold = Annotations({article.id: (Span(0, end, "Doubt"),)})
    with pytest.raises(PropscanError, match="ends beyond article"):
        evaluate(detector, [article], gold, tmp_path)


def test_no_articles_is_refused(detector: BaselineDetector, tmp_path: Path) -> None:
    with pytest.raises(PropscanError, match="no articles"):
        evaluate(detector, [], Annotations(), tmp_path)


def test_unwritable_output_is_reported(
    detector: BaselineDetector, dev_split: Split, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.raises(PropscanError, match="file: not a directory; choose a folder"):
        evaluate(detector, dev_split.articles[:1], dev_split.gold, blocker)


def test_articles_without_gold_spans_score_without_tc(
    detector: BaselineDetector, dev_split: Split, tmp_path: Path
) -> None:
    result = evaluate(detector, dev_split.articles[:1], Annotations(), tmp_path, threshold=0.2)
    assert result.tc is None and "tc_micro_f1" not in result.summary()
    assert (tmp_path / "tc.labels").read_text(encoding="utf-8") == ""
    assert result.si.gold_count == 0


def test_articles_are_read_as_analyze_reads_them() -> None:
    """An article whose accents are combining marks is scored on the marks its composed
    twin gets, as in ``propscan analyze``, with offsets into the article as stored."""
    import unicodedata

    from propscan.core.spans import Article
    from propscan.evaluation.evaluate import predict_articles
    from propscan.examples import sample_text
    from propscan.pipeline import analyze, load_model

    composed = sample_text().replace("e", "\u00e9")
    decomposed = unicodedata.normalize("NFD", composed)
    spans = predict_articles(load_model(), [Article("1", decomposed)])["1"]
    assert spans == analyze(decomposed).spans and len(spans) >= 3
    assert [unicodedata.normalize("NFC", decomposed[s.start : s.end]) for s in spans] == [
        composed[s.start : s.end] for s in analyze(composed).spans
    ]
