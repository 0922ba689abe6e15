"""The classical baseline: tokens and spans keep offsets, it overfits, saves and reloads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from propscan.baseline import (
    BaselineDetector,
    decode_spans,
    tokenize,
    train_baseline,
    trim_span,
)
from propscan.corpus import Split, validation_ids
from propscan.data import Annotations, Article, Span
from propscan.detector import Prediction, load_detector
from propscan.errors import PropscanError
from propscan.scoring import score_flc, score_si, to_si_annotations
from propscan.techniques import TECHNIQUES


@pytest.fixture(scope="module")
def tiny(tiny_model: Path) -> BaselineDetector:
    return BaselineDetector.load(tiny_model)


def assert_same_predictions(first: list[Prediction], second: list[Prediction]) -> None:
    """Equal spans, techniques, scores and token scores (Span equality ignores scores)."""
    assert len(first) == len(second)
    for one, other in zip(first, second, strict=True):
        assert one.spans == other.spans
        assert [s.score for s in one.spans] == pytest.approx([s.score for s in other.spans])
        assert [(t.start, t.end) for t in one.token_scores] == [
            (t.start, t.end) for t in other.token_scores
        ]
        assert [t.score for t in one.token_scores] == pytest.approx(
            [t.score for t in other.token_scores]
        )


def assert_valid_spans(text: str, prediction: Prediction) -> None:
    """Every span and token score lies in the text; spans are trimmed like PTC gold spans."""
    for span in prediction.spans:
        fragment = text[span.start : span.end]
        assert 0 <= span.start < span.end <= len(text)
        assert fragment == span.fragment(text) and fragment.strip() == fragment
        assert fragment[0] not in ".,:;" and fragment[-1] not in ".,:;"
        assert span.technique in TECHNIQUES
        assert span.score is not None and 0.0 <= span.score <= 1.0
    for token in prediction.token_scores:
        assert 0 <= token.start < token.end <= len(text)
        assert not text[token.start : token.end].isspace()
        assert 0.0 <= token.score <= 1.0


def test_tokens_keep_offsets_with_emoji_and_crlf() -> None:
    text = "Nation 🇺🇸 «great» again!\r\nDon’t   panic… 😀ok"
    tokens = tokenize(text)
    assert [t.text for t in tokens] == [text[t.start : t.end] for t in tokens]
    assert [t.text for t in tokens][:4] == ["Nation", "🇺", "🇸", "«"]
    assert "Don’t" in [t.text for t in tokens]
    assert all("\r" not in t.text and not t.text.isspace() for t in tokens)


def test_trim_span_strips_whitespace_and_ptc_edge_punctuation() -> None:
    text = ' ;, "Lies!" .\n'
    start, end = trim_span(text, 0, len(text)) or (0, 0)
    assert text[start:end] == '"Lies!"'
    assert trim_span(text, 0, 3) is None  # nothing but punctuation and spaces


def test_decode_bridges_short_gaps_but_not_lines_or_long_gaps() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa\nlambda mu"
    tokens = tokenize(text)
    probabilities = np.array([0.9, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.1, 0.9, 0.9])
    found = decode_spans(text, tokens, probabilities, threshold=0.5)
    fragments = [text[start:end] for start, end, _ in found]
    # "beta" is bridged; four words below threshold end a span; the line break ends one too.
    assert fragments == ["alpha beta gamma", "theta iota", "lambda mu"]
    assert found[0][2] == pytest.approx((0.9 + 0.1 + 0.9) / 3)


def test_decode_drops_lone_words_unless_twice_as_probable() -> None:
    text = "one two three"
    tokens = tokenize(text)
    assert decode_spans(text, tokens, np.array([0.1, 0.45, 0.1]), 0.3) == []
    assert [
        text[s:e] for s, e, _ in decode_spans(text, tokens, np.array([0.1, 0.7, 0.1]), 0.3)
    ] == ["two"]


def test_overfit_save_reload(train_split: Split, tmp_path: Path) -> None:
    held_out = validation_ids(article.id for article in train_split.articles)
    fitted = [a for a in train_split.articles if a.id not in held_out][:3]
    tuning = [a for a in train_split.articles if a.id in held_out][:1]
    gold = train_split.gold.restrict(a.id for a in [*fitted, *tuning])
    detector = train_baseline([*fitted, *tuning], gold, seed=0, progress=False)
    assert detector.training["articles"] == 3 and detector.training["validation_articles"] == 1

    texts = [article.text for article in fitted]
    predictions = detector.predict(texts)
    predicted = Annotations({a.id: p.spans for a, p in zip(fitted, predictions, strict=True)})
    fitted_gold = gold.restrict(a.id for a in fitted)
    assert score_si(to_si_annotations(fitted_gold), to_si_annotations(predicted)).f1 > 0.8
    assert score_flc(fitted_gold, predicted).f1 > 0.6

    directory = detector.save(tmp_path / "model")
    config = json.loads((directory / "model.json").read_text(encoding="utf-8"))
    assert config["kind"] == "baseline" and config["si_threshold"] == detector.si_threshold
    assert not list(directory.glob("*.pkl"))
    reloaded = load_detector(directory)
    assert isinstance(reloaded, BaselineDetector)
    assert_same_predictions(predictions, reloaded.predict(texts))
    spans = [Span(s.start, s.end) for s in predictions[0].spans[:5]]
    assert detector.classify(texts[0], spans) == pytest.approx(reloaded.classify(texts[0], spans))


def test_offsets_hold_for_unicode_emoji_crlf_and_long_articles(
    tiny: BaselineDetector, dev_split: Split
) -> None:
    article = dev_split.articles[0].text
    emoji = article.replace(" the ", " the 😀 ").replace(". ", ". 🇺🇸 ")
    crlf = article.replace("\n", "\r\n")
    long = "\n".join([article] * 30)
    texts = [emoji, crlf, "Ünïcödé «propaganda» — ‘lies’ ∑ 中文 ‽", long]
    predictions = tiny.predict(texts, threshold=0.05)
    for text, prediction in zip(texts, predictions, strict=True):
        assert_valid_spans(text, prediction)
        words = [t for t in tokenize(text) if t.text.isalnum()]
        assert len(prediction.token_scores) >= len(words)
    assert predictions[0].spans and predictions[1].spans
    assert (
        len(predictions[3].spans) >= 30 * len(tiny.predict([article], threshold=0.05)[0].spans) // 2
    )


def test_crlf_gives_the_same_spans_shifted(tiny: BaselineDetector, dev_split: Split) -> None:
    text = dev_split.articles[1].text
    crlf = text.replace("\n", "\r\n")
    plain, windows = tiny.predict([text, crlf], threshold=0.1)

    def without_cr(offset: int) -> int:
        return offset - crlf[:offset].count("\r")

    shifted = [Span(without_cr(s.start), without_cr(s.end), s.technique) for s in windows.spans]
    assert shifted == list(plain.spans)


def test_empty_and_blank_inputs_give_no_spans(tiny: BaselineDetector) -> None:
    predictions = tiny.predict(["", "   \n\t\r\n ", "... ;;; ,,,"])
    assert [p.spans for p in predictions] == [(), (), ()]
    assert predictions[0].token_scores == () and predictions[1].token_scores == ()
    assert tiny.predict([]) == []
    assert tiny.classify("", []) == []


def test_classify_gives_a_distribution_over_the_14_techniques(
    tiny: BaselineDetector, example_text: str
) -> None:
    start = example_text.index("terrorist")
    rows = tiny.classify(example_text, [Span(start, start + 9), Span(0, 20)])
    assert len(rows) == 2
    for row in rows:
        assert list(row) == list(TECHNIQUES)
        assert sum(row.values()) == pytest.approx(1.0)
        assert all(isinstance(value, float) and value >= 0 for value in row.values())


def test_classify_refuses_spans_beyond_the_text(tiny: BaselineDetector) -> None:
    with pytest.raises(PropscanError, match="beyond the text"):
        tiny.classify("short", [Span(0, 50)])


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan")])
def test_threshold_outside_0_1_is_refused(tiny: BaselineDetector, threshold: float) -> None:
    with pytest.raises(PropscanError, match="between 0 and 1"):
        tiny.predict(["Some text."], threshold=threshold)


def test_lower_threshold_finds_at_least_as_many_words(
    tiny: BaselineDetector, example_text: str
) -> None:
    def covered(threshold: float) -> int:
        spans = tiny.predict([example_text], threshold=threshold)[0].spans
        return sum(span.length for span in to_si_annotations(Annotations({"a": spans}))["a"])

    assert covered(0.05) >= covered(0.3) >= covered(0.9)


def test_damaged_model_directory_is_reported(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(PropscanError, match="not a propscan model directory"):
        BaselineDetector.load(tmp_path)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "model.json").write_bytes((tiny_model / "model.json").read_bytes())
    with pytest.raises(PropscanError, match="missing or damaged"):
        BaselineDetector.load(damaged)


def test_weights_that_do_not_fit_the_config_are_reported(tiny_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy)
    config = json.loads((copy / "model.json").read_text(encoding="utf-8"))
    (copy / "model.json").write_text(json.dumps({**config, "hash_bits": 12}), encoding="utf-8")
    with pytest.raises(PropscanError, match=r"missing or damaged.*span weights of shape"):
        load_detector(copy)


def test_saving_to_an_unwritable_place_is_reported(tiny: BaselineDetector, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(PropscanError, match="cannot save the model"):
        tiny.save(blocker / "model")


def test_training_needs_techniques_and_spans() -> None:
    article = Article("1", "They are traitors. The weather is nice today.")
    with pytest.raises(PropscanError, match="has no technique"):
        train_baseline([article], Annotations({"1": (Span(9, 17),)}), progress=False)
    with pytest.raises(PropscanError, match="both propaganda and non-propaganda"):
        train_baseline([article], Annotations(), progress=False)


def test_training_is_reproducible(train_split: Split) -> None:
    held_out = validation_ids(article.id for article in train_split.articles)
    articles = [a for a in train_split.articles if a.id not in held_out][:2]
    gold = train_split.gold.restrict(a.id for a in articles)
    first = train_baseline(articles, gold, seed=3, progress=False)
    second = train_baseline(articles, gold, seed=3, progress=False)
    text = train_split.articles[2].text
    assert_same_predictions(first.predict([text], 0.2), second.predict([text], 0.2))
