"""The model shipped inside the package: loads offline, and its spans index the text."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from propscan.cli import app
from propscan.errors import PropscanError
from propscan.evaluation.model_card import model_size_bytes
from propscan.models.base import DEFAULT_MODEL_DIR
from propscan.models.registry import load_detector
from propscan.pipeline import analyze


def test_shipped_model_is_small_documented_and_quantised() -> None:
    assert model_size_bytes(DEFAULT_MODEL_DIR) <= 40_000_000
    assert (DEFAULT_MODEL_DIR / "MODEL_CARD.md").is_file()
    detector = load_detector(None)
    assert detector.config["kind"] == "transformer" and detector.config["quantized"]


def test_shipped_settings_are_read_under_one_name() -> None:
    """The shipped model and its companion say ``second_technique_threshold``."""
    detector = load_detector(None)
    config = json.loads((DEFAULT_MODEL_DIR / "baseline" / "model.json").read_text("utf-8"))
    assert detector.companion.second_technique_threshold == config["second_technique_threshold"]
    decoding = detector.config["decoding"]
    assert detector.settings.second_technique_threshold == decoding["second_technique_threshold"]
    assert detector.settings.si_threshold == decoding["si_threshold"]


def test_a_technique_prior_that_does_not_fit_the_techniques_is_refused(tmp_path) -> None:
    for path in DEFAULT_MODEL_DIR.iterdir():
        (tmp_path / path.name).symlink_to(path)
    (tmp_path / "model.json").unlink()
    config = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text("utf-8"))
    config["decoding"]["technique_prior"] = [0.5, 0.5]
    (tmp_path / "model.json").write_text(json.dumps(config), "utf-8")
    with pytest.raises(PropscanError, match="one positive share per technique of the model"):
        load_detector(tmp_path)


def test_example_article_gets_loaded_language_and_name_calling(example_text: str) -> None:
    analysis = analyze(example_text)
    assert analysis.spans
    for span in analysis.spans:
        assert 0 <= span.start < span.end <= len(example_text)
    techniques = {span.technique for span in analysis.spans}
    assert {"Loaded_Language", "Name_Calling,Labeling"} & techniques
    # a sentence holding a span has a token at or above the decision threshold
    threshold = load_detector(None).settings.si_threshold
    assert max(sentence.score for sentence in analysis.sentences) >= threshold


def test_cli_json_fragments_equal_the_text_slices(example_text: str, tmp_path) -> None:
    source = tmp_path / "article.txt"
    source.write_text("Emoji 🎉 first. " + example_text, encoding="utf-8")
    result = CliRunner().invoke(app, ["analyze", str(source), "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["model"]["name"] == "propscan-minilm"
    for span in payload["spans"]:
        assert payload["text"][span["start"] : span["end"]] == span["fragment"]


def test_long_texts_are_analysed_in_sections_with_offsets_into_the_whole(
    dev_split, monkeypatch
) -> None:
    """Sections keep memory bounded; their spans and token scores index the whole text,
    and a section's phrases are the ones it gets on its own."""
    from propscan.core.sentences import sections
    from propscan.models.transformer import detector as transformer

    detector = load_detector(DEFAULT_MODEL_DIR)
    text = "\n".join(article.text for article in dev_split.articles)
    monkeypatch.setattr(transformer, "SECTION_CHARS", 600)
    (whole,) = detector.predict([text])
    bounds = sections(text, 600)
    assert len(bounds) >= 3
    assert whole.spans
    for span in whole.spans:
        assert 0 <= span.start < span.end <= len(text)
        assert any(start <= span.start and span.end <= end for start, end in bounds)
    starts = [token.start for token in whole.token_scores]
    assert starts == sorted(starts) and starts[-1] < len(text)
    first_start, first_end = bounds[0]
    (alone,) = detector.predict([text[first_start:first_end]])
    assert {(s.start, s.end) for s in alone.spans} == {
        (s.start, s.end) for s in whole.spans if s.end <= first_end
    }


def test_technique_fragments_add_techniques_inside_phrases_without_changing_them(
    dev_split,
) -> None:
    """Fragments lie inside a phrase, carry a technique the phrase lacks and its score;
    the phrases themselves (what SI scores) stay as they were."""
    from dataclasses import replace

    detector = load_detector(DEFAULT_MODEL_DIR)
    texts = [article.text for article in dev_split.articles]
    settings = detector.settings
    detector.decoder = detector.decoder.with_settings(replace(settings, fragment_gap=-1))
    plain = detector.predict(texts)
    detector.decoder = detector.decoder.with_settings(replace(settings, fragment_gap=0))
    with_fragments = detector.predict(texts)
    added = 0
    for text, before, after in zip(texts, plain, with_fragments, strict=True):
        assert set(before.spans) <= set(after.spans)
        phrases = {(s.start, s.end): s for s in before.spans}
        for span in set(after.spans) - set(before.spans):
            added += 1
            assert text[span.start : span.end].strip() == text[span.start : span.end]
            (outer,) = [p for p in phrases if p[0] <= span.start and span.end <= p[1]]
            assert span.technique not in {
                s.technique for s in before.spans if (s.start, s.end) == outer
            }
            assert span.score == phrases[outer].score
    assert added > 0


def test_numpy_pools_run_one_thread_during_analysis_and_get_their_size_back(
    example_text: str,
) -> None:
    from threadpoolctl import threadpool_info

    from propscan.models.transformer.detector import one_thread_per_pool

    detector = load_detector(DEFAULT_MODEL_DIR)
    before = [(pool["filepath"], pool["num_threads"]) for pool in threadpool_info()]
    with one_thread_per_pool():
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    detector.predict([example_text])
    assert [(pool["filepath"], pool["num_threads"]) for pool in threadpool_info()] == before


def test_encoder_calls_side_by_side_give_the_outputs_of_calls_one_at_a_time(
    dev_split, monkeypatch
) -> None:
    """Single-threaded calls on two workers, read back in groups while earlier texts are
    decoded, give every span, score and token score bit for bit as one call at a time on
    all threads does."""
    from propscan.models.transformer import scheduling
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.runtime import SideBySide, onnx_encoder

    monkeypatch.setattr(scheduling, "TEXTS_PER_GROUP", 2)

    detector = TransformerDetector.load(DEFAULT_MODEL_DIR, threads=2)
    texts = [article.text for article in dev_split.articles]
    detector.windowed.side_by_side = None
    one_at_a_time = detector.predict(texts)
    calls = []

    def single_threaded():
        encoder = onnx_encoder(DEFAULT_MODEL_DIR / "encoder.onnx", 1)

        def counted(input_ids, mask):
            calls.append(len(input_ids))
            return encoder(input_ids, mask)

        return counted

    detector.windowed.side_by_side = SideBySide(single_threaded, workers=2, min_calls_per_worker=1)
    side_by_side = detector.predict(texts)
    assert len(texts) > 2 and len(calls) >= len(texts)
    for before, after in zip(one_at_a_time, side_by_side, strict=True):
        assert before.spans == after.spans
        assert np.array_equal(before.token_scores.offsets, after.token_scores.offsets)
        assert np.array_equal(before.token_scores.scores, after.token_scores.scores)


def test_a_lone_short_article_runs_its_calls_one_at_a_time(example_text: str) -> None:
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.runtime import SideBySide

    detector = TransformerDetector.load(DEFAULT_MODEL_DIR, threads=2)
    assert isinstance(detector.windowed.side_by_side, SideBySide)
    made = []
    detector.windowed.side_by_side = SideBySide(
        lambda: made.append(1) or detector.windowed.encoder, workers=2
    )
    (prediction,) = detector.predict([example_text])
    assert prediction.spans and not made


def test_phrase_completion_reaches_the_shipped_model_s_marks() -> None:
    """With ``complete_phrases`` the shipped model's mark on the sample article no longer
    stops on "every": "has dodged every" becomes "has dodged every question"."""
    from dataclasses import replace

    from propscan.examples import sample_text

    detector = load_detector(DEFAULT_MODEL_DIR)
    text = sample_text()

    def marks(complete: bool) -> set[str]:
        settings = replace(detector.settings, complete_phrases=complete)
        detector.decoder = detector.decoder.with_settings(settings)
        (found,) = detector.predict([text])
        return {text[span.start : span.end] for span in found.spans}

    assert any(mark.endswith("has dodged every") for mark in marks(False))
    completed = marks(True)
    assert any(mark.endswith("has dodged every question") for mark in completed)
    assert not any(mark.endswith(" every") for mark in completed)
