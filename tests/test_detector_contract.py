"""What every detector must do, whatever its kind: one test class, run on each model.

Offsets index the text they came from (emoji, CRLF, articles longer than an encoder
window included); empty and blank texts give no spans; the threshold is a number in
[0, 1] and a lower one never finds less; a saved and reloaded model predicts the same.
A new kind of model is one more entry in ``MODELS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from propscan.core.spans import Annotations, Span, to_si_annotations
from propscan.core.techniques import TECHNIQUES
from propscan.errors import PropscanError
from propscan.models.base import DEFAULT_MODEL_DIR, Detector, Prediction
from propscan.models.registry import load_detector
from propscan.pipeline import analyze_many
from propscan.ptc.splits import Split


def _shipped(tiny_model: Path) -> Path:
    return DEFAULT_MODEL_DIR


def _tiny_baseline(tiny_model: Path) -> Path:
    return tiny_model


#: kind -> where its model directory comes from (given the tiny baseline's directory).
MODELS: dict[str, Callable[[Path], Path]] = {
    "baseline": _tiny_baseline,
    "transformer": _shipped,
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def model_dir(request: pytest.FixtureRequest, tiny_model: Path) -> Path:
    return MODELS[request.param](tiny_model)


@pytest.fixture(scope="module")
def detector(model_dir: Path) -> Detector:
    return load_detector(model_dir)


@pytest.fixture(scope="module")
def hard_texts(dev_split: Split) -> list[str]:
    """Emoji and accents, CRLF line ends, and an article longer than an encoder window."""
    article = dev_split.articles[0].text
    return [
        article.replace(" the ", " the 😀 ").replace(". ", ". 🇺🇸 "),
        article.replace("\n", "\r\n"),
        "Ünïcödé «propaganda» — ‘lies’ ∑ 中文 ‽ 👍🏽",
        "\n".join(a.text for a in dev_split.articles[:4] for _ in range(3)),
    ]


def assert_valid(text: str, prediction: Prediction, techniques: tuple[str, ...]) -> None:
    """Spans and token scores lie in the text; spans are trimmed like PTC gold spans."""
    assert list(prediction.spans) == sorted(prediction.spans)
    for span in prediction.spans:
        fragment = text[span.start : span.end]
        assert 0 <= span.start < span.end <= len(text)
        assert fragment == span.fragment(text) and fragment.strip() == fragment
        assert fragment[0] not in ".,:;" and fragment[-1] not in ".,:;"
        assert span.technique in techniques
        assert span.score is not None and 0.0 <= span.score <= 1.0
    for token in prediction.token_scores:
        assert 0 <= token.start < token.end <= len(text)
        assert not text[token.start : token.end].isspace()
        assert 0.0 <= token.score <= 1.0


def test_names_itself(detector: Detector) -> None:
    assert isinstance(detector.name, str) and detector.name
    assert isinstance(detector.version, str)


def test_offsets_index_the_text(detector: Detector, hard_texts: list[str]) -> None:
    predictions = detector.predict(hard_texts, threshold=0.05)
    assert len(predictions) == len(hard_texts)
    for text, prediction in zip(hard_texts, predictions, strict=True):
        assert_valid(text, prediction, TECHNIQUES)
    assert predictions[0].spans and predictions[1].spans and predictions[3].spans


def test_crlf_gives_the_same_spans_shifted(detector: Detector, dev_split: Split) -> None:
    text = dev_split.articles[1].text
    crlf = text.replace("\n", "\r\n")
    plain, windows = detector.predict([text, crlf], threshold=0.1)

    def without_cr(offset: int) -> int:
        return offset - crlf[:offset].count("\r")

    shifted = [Span(without_cr(s.start), without_cr(s.end), s.technique) for s in windows.spans]
    assert shifted == list(plain.spans)


def test_empty_and_blank_texts_give_no_spans(detector: Detector) -> None:
    predictions = detector.predict(["", "   \n\t\r\n ", "... ;;; ,,,"])
    assert [p.spans for p in predictions] == [(), (), ()]
    assert not predictions[0].token_scores and not predictions[1].token_scores
    assert detector.predict([]) == []
    assert detector.classify("", []) == []


@pytest.mark.parametrize("threshold", [-0.1, 1.5, math.nan, math.inf])
def test_threshold_outside_0_1_is_refused(detector: Detector, threshold: float) -> None:
    """The pipeline checks a threshold once, before any model sees it."""
    with pytest.raises(PropscanError, match="between 0 and 1"):
        analyze_many(["Some text."], detector, threshold=threshold)


def test_a_lower_threshold_never_finds_less(detector: Detector, dev_split: Split) -> None:
    text = "\n".join(article.text for article in dev_split.articles)

    def covered(threshold: float) -> int:
        spans = detector.predict([text], threshold=threshold)[0].spans
        return sum(span.length for span in to_si_annotations(Annotations({"a": spans}))["a"])

    assert covered(0.0) >= covered(0.05) >= covered(0.3) >= covered(0.9) >= covered(1.0)
    assert covered(0.0) > 0


def test_classify_gives_a_distribution_per_span(detector: Detector, dev_split: Split) -> None:
    article = dev_split.articles[0]
    spans = [Span(span.start, span.end) for span in dev_split.gold[article.id]] + [Span(0, 5)]
    rows = detector.classify(article.text, spans)
    assert len(rows) == len(spans)
    for row in rows:
        assert set(row) <= set(TECHNIQUES)
        assert sum(row.values()) == pytest.approx(1.0)
        assert all(isinstance(value, float) and value >= 0 for value in row.values())


def test_classify_refuses_spans_beyond_the_text(detector: Detector) -> None:
    with pytest.raises(PropscanError, match="beyond the text"):
        detector.classify("short", [Span(0, 50)])


def test_save_then_load_predicts_the_same(
    detector: Detector, dev_split: Split, tmp_path: Path
) -> None:
    texts = [article.text for article in dev_split.articles[:3]]
    reloaded = load_detector(detector.save(tmp_path / "copy"))
    assert (reloaded.name, reloaded.version) == (detector.name, detector.version)
    before, after = detector.predict(texts, 0.2), reloaded.predict(texts, 0.2)
    for one, other in zip(before, after, strict=True):
        assert one.spans == other.spans
        assert [s.score for s in one.spans] == pytest.approx([s.score for s in other.spans])
        assert one.token_scores == other.token_scores
    spans = [Span(s.start, s.end) for s in before[0].spans[:5]]
    assert detector.classify(texts[0], spans) == reloaded.classify(texts[0], spans)
