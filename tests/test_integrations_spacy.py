"""The ``propscan`` spaCy component with real spaCy: blank and sentencizer pipelines,
``nlp.pipe`` batching, save and load, and the offsets of every span."""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

import pytest

spacy = pytest.importorskip("spacy", reason="the spaCy component needs the 'spacy' extra")

from stubs import FixedDetector  # noqa: E402

from propscan.core.spans import Span  # noqa: E402
from propscan.errors import PropscanError  # noqa: E402
from propscan.examples import sample_text  # noqa: E402
from propscan.integrations.spacy import PropscanComponent, make_propscan  # noqa: E402
from propscan.models.base import DEFAULT_MODEL_DIR, Prediction  # noqa: E402
from propscan.pipeline import analyze, load_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONFIG = {"model": None, "threshold": None, "spans_key": "propaganda"}


class CountingDetector:
    """Wraps a detector and records the size of every batch it is given."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        self.version = inner.version  # type: ignore[attr-defined]
        self.techniques = inner.techniques  # type: ignore[attr-defined]
        self.decision_threshold = inner.decision_threshold  # type: ignore[attr-defined]
        self.directory = inner.directory  # type: ignore[attr-defined]
        self.batches: list[int] = []

    def predict(self, texts: Sequence[str], threshold: float | None = None) -> list[Prediction]:
        self.batches.append(len(texts))
        return self.inner.predict(texts, threshold=threshold)  # type: ignore[attr-defined]


def spans_of(doc: object, key: str = "propaganda") -> list[tuple[int, int, str, float]]:
    group = doc.spans[key]  # type: ignore[attr-defined]
    offsets = group.attrs["char_offsets"]
    scores = group.attrs["scores"]
    return [
        (int(start), int(end), span.label_, round(float(score), 6))
        for span, (start, end), score in zip(group, offsets, scores, strict=True)
    ]


def analysis_spans(text: str) -> list[tuple[int, int, str, float]]:
    return [
        (span.start, span.end, span.technique, round(float(span.score), 6))
        for span in analyze(text).spans
    ]


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    pipeline = spacy.blank("en")
    pipeline.add_pipe("propscan", config=CONFIG)
    return pipeline


def test_blank_pipeline_marks_the_same_fragments_as_analyze(nlp: object) -> None:
    text = sample_text()
    doc = nlp(text)  # type: ignore[operator]
    found = spans_of(doc)
    assert found and found == analysis_spans(text)
    for span, (start, end, _, _) in zip(doc.spans["propaganda"], found, strict=True):
        # tokens cover the fragment, and reach no further than the words it touches
        assert span.start_char <= start < end <= span.end_char
        assert text[span.start_char : span.end_char].strip() == span.text.strip()
        assert " " not in text[span.start_char : start] and " " not in text[end : span.end_char]


def test_blank_pipeline_matches_the_analyze_command(nlp: object) -> None:
    from typer.testing import CliRunner

    from propscan.cli import app

    result = CliRunner().invoke(app, ["analyze", "--example", "--format", "json"])
    assert result.exit_code == 0, result.output
    expected = [
        (s["start"], s["end"], s["technique"], round(s["score"], 6))
        for s in json.loads(result.stdout)["spans"]
    ]
    assert spans_of(nlp(sample_text())) == expected  # type: ignore[operator]


def test_blank_pipeline_on_the_shared_example_article(nlp: object, example_text: str) -> None:
    assert spans_of(nlp(example_text)) == analysis_spans(example_text)  # type: ignore[operator]


def test_sentencizer_before_the_component_changes_nothing(nlp: object) -> None:
    text = sample_text()
    with_sentences = spacy.blank("en")
    with_sentences.add_pipe("sentencizer")
    with_sentences.add_pipe("propscan", config=CONFIG)
    doc = with_sentences(text)
    assert len(list(doc.sents)) > 5
    assert spans_of(doc) == spans_of(nlp(text))  # type: ignore[operator]
    assert with_sentences.pipe_names == ["sentencizer", "propscan"]


def test_pipe_batches_through_one_model_and_equals_one_by_one(nlp: object) -> None:
    component: PropscanComponent = nlp.get_pipe("propscan")  # type: ignore[attr-defined]
    counting = CountingDetector(load_model(None))
    component.detector = counting
    text = sample_text()
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    blank = ["", "   ", "\u200b", "\ufeff\x00"]  # nothing to analyse: an empty group each
    texts = [*paragraphs, *blank, "🙂 Emoji first:\r\n" + paragraphs[2]]
    try:
        docs = list(nlp.pipe(texts, batch_size=4))  # type: ignore[attr-defined]
        assert counting.batches[:1] == [4] and sum(counting.batches) == len(texts) - len(blank)
        counting.batches.clear()
        singles = [nlp(t) for t in texts]  # type: ignore[operator]
        assert len(counting.batches) == len(texts) - len(blank)
    finally:
        component.detector = load_model(None)
    assert [d.text for d in docs] == texts
    assert [spans_of(d) for d in docs] == [spans_of(d) for d in singles]
    assert len(docs[len(paragraphs)].spans["propaganda"]) == 0  # empty text: an empty group
    assert any(spans_of(d) for d in docs)


def test_offsets_survive_a_tokenizer_that_cuts_words_differently() -> None:
    text = "The pen-pushers 🙂 are\r\nLIARS!!! and cowards."
    pen, emoji, liars = text.index("pen-"), text.index("🙂"), text.index("LIARS")
    fragments = [
        Span(pen, pen + 11, "Name_Calling,Labeling", 0.9),  # "pen-pushers": three spaCy tokens
        Span(pen + 4, pen + 9, "Loaded_Language", 0.4),  # "pushe": inside a token
        Span(emoji, emoji + 1, "Loaded_Language", 0.2),  # the emoji
        Span(liars, liars + 5, "Name_Calling,Labeling", 0.8),  # "LIARS" without its "!!!"
        Span(liars, liars + 8, "Loaded_Language", 0.7),  # overlapping, other technique
    ]
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    component = nlp.add_pipe("propscan", config={"spans_key": "p", "threshold": 0.1})
    component.detector = FixedDetector(fragments)
    doc = nlp(text)
    group = doc.spans["p"]
    assert len(group) == len(fragments)
    assert [(int(s), int(e)) for s, e in group.attrs["char_offsets"]] == [
        (f.start, f.end) for f in fragments
    ]
    for span, fragment in zip(group, fragments, strict=True):
        assert span.label_ == fragment.technique
        assert span.start_char <= fragment.start and fragment.end <= span.end_char
    assert [span.text for span in group] == ["pen-pushers", "pushers", "🙂", "LIARS", "LIARS!!!"]
    assert [round(float(s), 3) for s in group.attrs["scores"]] == [0.9, 0.4, 0.2, 0.8, 0.7]


def test_techniques_filter_and_spans_key(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("propscan", config={"spans_key": "loaded", "techniques": ["Loaded_Language"]})
    doc = nlp(sample_text())
    assert "propaganda" not in doc.spans
    assert {span.label_ for span in doc.spans["loaded"]} == {"Loaded_Language"}


def test_save_and_load_keeps_the_model_path_not_the_weights(tmp_path: Path) -> None:
    model_copy = tmp_path / "my-model"
    shutil.copytree(DEFAULT_MODEL_DIR, model_copy)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("propscan", config={"model": str(model_copy), "threshold": 0.3})
    text = sample_text()
    expected = spans_of(nlp(text))
    nlp.to_disk(tmp_path / "pipeline")
    config = (tmp_path / "pipeline" / "config.cfg").read_text(encoding="utf-8")
    assert f'model = "{model_copy}"' in config and "threshold = 0.3" in config
    assert not list((tmp_path / "pipeline" / "propscan").glob("**/*.onnx"))
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == ["sentencizer", "propscan"]
    assert spans_of(loaded(text)) == expected


def test_store_model_copies_the_weights_when_asked(tmp_path: Path) -> None:
    model_copy = tmp_path / "my-model"
    shutil.copytree(DEFAULT_MODEL_DIR, model_copy)
    nlp = spacy.blank("en")
    nlp.add_pipe("propscan", config={"model": str(model_copy), "store_model": True})
    text = sample_text()
    expected = spans_of(nlp(text))
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "propscan" / "model" / "model.json").is_file()
    nlp.to_disk(tmp_path / "pipeline")  # saving again over the same folder works
    shutil.rmtree(model_copy)  # the configured model is gone: the stored copy serves
    loaded = spacy.load(tmp_path / "pipeline")
    component = loaded.get_pipe("propscan")
    assert component.model == str((tmp_path / "pipeline" / "propscan" / "model").resolve())
    assert spans_of(loaded(text)) == expected


def test_a_stored_model_is_found_from_any_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("propscan", config={"store_model": True})
    nlp.to_disk(tmp_path / "pipeline")
    monkeypatch.chdir(tmp_path)
    loaded = spacy.load("pipeline")  # a relative path
    monkeypatch.chdir("/")
    assert spans_of(loaded(sample_text()))


def test_without_a_stored_copy_a_missing_model_is_an_error_when_loading(tmp_path: Path) -> None:
    model_copy = tmp_path / "my-model"
    shutil.copytree(DEFAULT_MODEL_DIR, model_copy)
    nlp = spacy.blank("en")
    nlp.add_pipe("propscan", config={"model": str(model_copy)})
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(model_copy)
    with pytest.raises(PropscanError, match="not a propscan model directory"):
        spacy.load(tmp_path / "pipeline")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"threshold": 1.5}, "threshold must be between 0 and 1"),
        ({"model": "/no/such/model"}, "not a propscan model directory"),
        ({"techniques": ["Propaganda"]}, "unknown technique"),
        ({"spans_key": ""}, "spans_key must be a non-empty string"),
    ],
)
def test_bad_settings_fail_when_the_component_is_added(
    config: dict[str, object], message: str
) -> None:
    with pytest.raises(PropscanError, match=message):
        spacy.blank("en").add_pipe("propscan", config=config)


def test_factory_is_advertised_through_the_spacy_factories_entry_point() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    declared = pyproject["project"]["entry-points"]["spacy_factories"]
    assert declared == {"propscan": "propscan.integrations.spacy:make_propscan"}
    assert spacy.language.Language.has_factory("propscan")
    installed = [ep for ep in entry_points(group="spacy_factories") if ep.name == "propscan"]
    if installed:  # propscan is installed with its entry points: spaCy finds the factory
        assert installed[0].load() is make_propscan


def test_the_model_setting_takes_an_installed_models_name(
    tiny_package: str, tiny_model: Path, tmp_path: Path
) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("propscan", config={"model": tiny_package, "threshold": 0.2})
    text = sample_text()
    by_directory = spacy.blank("en")
    by_directory.add_pipe("propscan", config={"model": str(tiny_model), "threshold": 0.2})
    assert spans_of(nlp(text)) == spans_of(by_directory(text))
    nlp.to_disk(tmp_path / "pipeline")
    settings = json.loads((tmp_path / "pipeline" / "propscan" / "propscan.json").read_text())
    assert settings["model"]["name"] == load_model(tiny_model).name
    assert f'model = "{tiny_package}"' in (tmp_path / "pipeline" / "config.cfg").read_text()
    assert spans_of(spacy.load(tmp_path / "pipeline")(text)) == spans_of(nlp(text))
    with pytest.raises(PropscanError, match="unknown model 'no-such-model'"):
        spacy.blank("en").add_pipe("propscan", config={"model": "no-such-model"})
