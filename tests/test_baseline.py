"""The classical baseline: tokens keep offsets, it overfits, saves, reloads and is reproducible.

What every detector must do is in ``test_detector_contract.py``; the decoding rules are
in ``test_decoding.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from scipy.special import softmax
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

from propscan.core.spans import Annotations, Article, Span, to_si_annotations
from propscan.core.techniques import PTC_14, TECHNIQUES
from propscan.errors import PropscanError
from propscan.models.base import Prediction
from propscan.models.baseline.detector import BaselineDetector
from propscan.models.baseline.technique_features import (
    _ANALYZERS,
    DOCUMENT_FEATURES,
    ArticleContext,
    context_words,
    document_features,
    technique_features,
)
from propscan.models.baseline.train import train_baseline
from propscan.models.baseline.word_features import (
    hashed_scores,
    token_feature_columns,
    token_features,
    tokenize,
)
from propscan.models.decoding import decode_word_spans
from propscan.models.registry import load_detector
from propscan.ptc.scoring import score_flc, score_si
from propscan.ptc.splits import Split, load_split, validation_ids


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


def test_tokens_keep_offsets_with_emoji_and_crlf() -> None:
    text = "Nation 🇺🇸 «great» again!\r\nDon’t   panic… 😀ok"
    tokens = tokenize(text)
    assert tokens.texts == [text[start:end] for start, end in tokens.offsets.tolist()]
    assert tokens.texts[:4] == ["Nation", "🇺", "🇸", "«"]
    assert "Don’t" in tokens.texts
    assert all("\r" not in word and not word.isspace() for word in tokens.texts)
    assert tokens.is_word[:4] == [True, False, False, False]


def decode(text: str, probabilities: list[float], threshold: float) -> list[tuple[int, int, float]]:
    """The baseline's decoding of word probabilities (one per token of ``text``)."""
    tokens = tokenize(text)
    return [
        tuple(candidate)
        for candidate in decode_word_spans(
            text, tokens.offsets, tokens.is_word, np.array(probabilities), threshold
        )
    ]


def test_texts_featurised_together_get_the_rows_they_get_alone(
    tiny: BaselineDetector, dev_split: Split
) -> None:
    """No word feature looks past its sentence, so a batch of articles (an empty one and a
    one-line one among them) gets the columns each article gets alone."""
    texts = [a.text for a in dev_split.articles[:4]]
    texts[1:1] = ["", "One line, no break: \u201cquoted!\u201d"]
    words = [tokenize(text) for text in texts]
    bits = tiny.span_model.hash_bits
    together = token_feature_columns(texts, words, bits)
    alone = [token_feature_columns([text], [w], bits) for text, w in zip(texts, words, strict=True)]
    assert np.array_equal(together, np.concatenate(alone))
    found = tiny.span_model.token_probabilities_of(texts)
    for text, (text_words, probabilities) in zip(texts, found, strict=True):
        single_words, single = tiny.span_model.token_probabilities(text)
        assert text_words.texts == single_words.texts
        assert np.array_equal(probabilities, single)


def test_decode_bridges_short_gaps_but_not_lines_or_long_gaps() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa\nlambda mu"
    probabilities = [0.9, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.1, 0.9, 0.9]
    found = decode(text, probabilities, threshold=0.5)
    fragments = [text[start:end] for start, end, _ in found]
    # "beta" is bridged; four words below threshold end a span; the line break ends one too.
    assert fragments == ["alpha beta gamma", "theta iota", "lambda mu"]
    assert found[0][2] == pytest.approx((0.9 + 0.1 + 0.9) / 3)


def test_decode_drops_lone_words_unless_twice_as_probable() -> None:
    text = "one two three"
    assert decode(text, [0.1, 0.45, 0.1], 0.3) == []
    assert [text[s:e] for s, e, _ in decode(text, [0.1, 0.7, 0.1], 0.3)] == ["two"]


def test_span_scores_without_the_matrix_equal_the_sparse_product(
    tiny: BaselineDetector, dev_split: Split
) -> None:
    """Summing weights over hashed columns adds them as the sparse product does: float32
    sums are equal only when added in the same order, repeated columns merged first."""
    model = tiny.span_model
    weights = np.random.default_rng(0).standard_normal(model.coef.shape).astype(np.float32)
    repeated_columns = 0
    for article in dev_split.articles:
        tokens = tokenize(article.text)
        columns = token_feature_columns([article.text], [tokens], model.hash_bits)
        matrix = token_features(article.text, tokens, model.hash_bits)
        repeated_columns += columns.size - matrix.nnz
        for w in (model.coef, weights, weights.astype(np.float64)):
            expected = matrix @ w
            assert hashed_scores(columns, w).dtype == expected.dtype
            assert np.array_equal(hashed_scores(columns, w), expected)
        logits = matrix @ model.coef + model.intercept
        found, probabilities = model.token_probabilities(article.text)
        assert found.texts == tokens.texts
        assert np.array_equal(found.offsets, tokens.offsets)
        assert np.array_equal(probabilities, 1.0 / (1.0 + np.exp(-logits)))
    assert repeated_columns > 0  # the merging of a row's repeated columns was exercised
    assert token_features("", [], model.hash_bits).shape == (0, 1 << model.hash_bits)


def test_technique_features_equal_scikit_learns_tfidf(
    tiny: BaselineDetector, dev_split: Split
) -> None:
    """The TF-IDF blocks, computed without a vectorizer, are bit for bit scikit-learn's
    (``CountVectorizer`` + sublinear ``TfidfTransformer``), and the probabilities are the
    softmax of those features times the weights."""
    model = tiny.technique_model
    for article in dev_split.articles:
        spans = list(dev_split.gold[article.id])
        if not spans:
            continue
        context = ArticleContext.of(article.text)
        documents = {
            "word": [span.fragment(article.text) for span in spans],
            "char": [span.fragment(article.text) for span in spans],
            "context": [context_words(context, span) for span in spans],
        }
        blocks = []
        for space in model.spaces:
            vectorizer = CountVectorizer(**_ANALYZERS[space.kind], vocabulary=space.terms)
            tfidf = TfidfTransformer(sublinear_tf=True)
            tfidf.idf_ = space.idf
            blocks.append(tfidf.transform(vectorizer.transform(documents[space.kind])))
        dense = [document_features(context, span) for span in spans]
        expected = sparse.hstack([*blocks, sparse.csr_matrix(dense)], format="csr")
        actual = technique_features(model.spaces, [context] * len(spans), spans)
        assert actual.shape[1] == sum(len(s.terms) for s in model.spaces) + len(DOCUMENT_FEATURES)
        assert np.array_equal(actual.indptr, expected.indptr)
        assert np.array_equal(actual.indices, expected.indices)
        assert np.array_equal(actual.data, expected.data)

        logits = expected @ model.coef.T + model.intercept
        columns = [TECHNIQUES.index(label) for label in model.classes]
        probabilities = model.probabilities(article.text, spans, PTC_14)
        np.testing.assert_allclose(probabilities[:, columns], softmax(logits, axis=1), atol=1e-12)


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


def test_model_json_names_the_second_technique_threshold_and_reads_the_old_name(
    tiny_model: Path, tmp_path: Path
) -> None:
    config = json.loads((tiny_model / "model.json").read_text(encoding="utf-8"))
    assert "second_technique_threshold" in config and "second_threshold" not in config
    old = shutil.copytree(tiny_model, tmp_path / "old")
    config["second_threshold"] = config.pop("second_technique_threshold")
    (old / "model.json").write_text(json.dumps(config), encoding="utf-8")
    loaded = BaselineDetector.load(old)
    assert loaded.second_technique_threshold == config["second_threshold"]


def test_memes_are_fitted_on_but_never_held_out(train_split: Split, memes_dir: Path) -> None:
    memes = load_split(memes_dir, "train", unmapped="unlabelled")
    assert any(span.technique is None for _, span in memes.gold)
    articles = [*train_split.articles, *memes.articles]
    gold = Annotations({**train_split.gold.spans, **memes.gold.spans})
    detector = train_baseline(articles, gold, seed=0, progress=False)
    held_out = validation_ids(article.id for article in train_split.articles)
    assert detector.training["validation_articles"] == len(held_out)
    assert detector.training["articles"] == len(articles) - len(held_out)
    assert set(detector.technique_model.classes) <= set(TECHNIQUES)
