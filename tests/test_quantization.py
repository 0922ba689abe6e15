"""Static int8 quantisation of a tiny exported encoder, and batching that cannot leak.

A randomly initialised two-layer BERT (hidden size 32) with the real tokenizer, wrapped
in the transformer network (token, technique and sentence heads), keeps the export and
calibration to a few seconds while running exactly the code that quantises a trained
model. Windows of 30 tokens give the fixture corpus's short articles several windows each.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from support.tiny_bert import tiny_bert

from propscan.core.techniques import TECHNIQUES
from propscan.models.transformer.detector import SpanHead, TransformerDetector
from propscan.models.transformer.encoding import Window, load_tokenizer

torch = pytest.importorskip("torch", reason="exporting an encoder needs the train extra")
pytest.importorskip("onnx", reason="quantisation needs the train extra")

from propscan.models.transformer.quantization import (  # noqa: E402
    FP32_ENCODER,
    StaticSettings,
    WindowReader,
    activation_products,
    calibration_windows,
    quantize_dynamic_encoder,
    quantize_model,
)

SPECIAL = {"cls": 101, "sep": 102, "pad": 0}
WINDOW_TOKENS, WINDOW_STRIDE = 30, 20


@pytest.fixture(scope="module")
def fp32_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory around a random 2-layer BERT, as training writes it (fp32)."""
    from propscan.models.transformer.export import write_onnx_model
    from propscan.models.transformer.network import TransformerNetwork
    from propscan.models.transformer.train import default_encoder_dir

    out = tmp_path_factory.mktemp("fp32-model")
    model = TransformerNetwork(tiny_bert(), 32, len(TECHNIQUES))
    write_onnx_model(
        model,
        out / FP32_ENCODER,
        out,
        default_encoder_dir(),
        {
            "kind": "transformer",
            "name": "tiny",
            "version": "0",
            "techniques": list(TECHNIQUES),
            "special_tokens": SPECIAL,
            # Short windows so that a few articles make many windows, several per article.
            "decoding": {
                "window_tokens": WINDOW_TOKENS,
                "window_stride": WINDOW_STRIDE,
                "si_threshold": 0.0,
            },
        },
    )
    return out


@pytest.fixture(scope="module")
def static_model(fp32_model: Path, train_split, tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = [article.text for article in train_split.articles[:4]]
    return quantize_model(
        fp32_model,
        tmp_path_factory.mktemp("static-model"),
        texts,
        StaticSettings(calibration_windows=16),
        windows_per_call=8,
    )


def test_calibration_windows_are_inference_windows(fp32_model: Path, train_split) -> None:
    texts = [article.text for article in train_split.articles[:4]]
    windows = calibration_windows(
        load_tokenizer(fp32_model), texts, WINDOW_TOKENS, WINDOW_STRIDE, count=10
    )
    assert len(windows) == 10
    assert all(0 < len(window) <= WINDOW_TOKENS for window in windows)
    batches = []
    reader = WindowReader(windows, SPECIAL, batch_size=4)
    while (batch := reader.get_next()) is not None:
        batches.append(batch)
    assert sum(len(batch["input_ids"]) for batch in batches) == 10
    # Equal lengths per call: the calibrator never sees padding.
    assert all(batch["attention_mask"].all() for batch in batches)
    reader.rewind()
    assert reader.get_next() is not None


def test_unknown_calibration_method_is_refused() -> None:
    from propscan.errors import PropscanError

    with pytest.raises(PropscanError, match="calibration method"):
        StaticSettings(method="median")


@pytest.mark.slow
def test_static_model_is_int8_and_close_to_fp32(
    fp32_model: Path, static_model: Path, dev_split
) -> None:
    import onnx

    config = json.loads((static_model / "model.json").read_text())
    assert config["quantization"]["kind"] == "static"
    assert config["windows_per_call"] == 8
    graph = onnx.load(str(static_model / "encoder.onnx")).graph
    assert any(node.op_type == "QuantizeLinear" for node in graph.node)
    assert "sentence_logits" in {output.name for output in graph.output}

    text = dev_split.articles[0].text
    reference = TransformerDetector.load(fp32_model).encode([text])[0]
    quantized = TransformerDetector.load(static_model).encode([text])[0]
    assert quantized.si_prob.shape == reference.si_prob.shape
    assert np.corrcoef(reference.hidden.ravel(), quantized.hidden.ravel())[0, 1] > 0.95


@pytest.mark.slow
def test_static_model_batches_without_leaking_between_articles(
    static_model: Path, dev_split
) -> None:
    """An article's outputs are the same alone and encoded with others in shared calls."""
    detector = TransformerDetector.load(static_model)
    assert detector.windows_per_call == 8
    texts = [article.text for article in dev_split.articles[:6]]
    together = detector.encode(texts)
    for text, batched in zip(texts, together, strict=True):
        (alone,) = detector.encode([text])
        for name in ("si_prob", "technique_prob", "hidden"):
            np.testing.assert_allclose(
                getattr(batched, name), getattr(alone, name), rtol=0, atol=1e-6, err_msg=name
            )
    one_per_call = TransformerDetector.load(static_model)
    one_per_call.windows_per_call = 1
    for batched, single in zip(together, one_per_call.encode(texts), strict=True):
        np.testing.assert_allclose(batched.hidden, single.hidden, rtol=0, atol=1e-6)
    predictions = detector.predict(texts[:2])
    assert [p.spans for p in predictions] == [p.spans for p in one_per_call.predict(texts[:2])]


@pytest.mark.slow
def test_dynamic_option_writes_a_smaller_encoder(fp32_model: Path, tmp_path: Path) -> None:
    target = quantize_dynamic_encoder(fp32_model / FP32_ENCODER, tmp_path / "encoder.onnx")
    assert target.stat().st_size < (fp32_model / FP32_ENCODER).stat().st_size


@pytest.mark.slow
def test_dynamic_int8_stores_the_word_table_as_int8_rows(fp32_model: Path, tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    source = fp32_model / FP32_ENCODER
    target = quantize_dynamic_encoder(source, tmp_path / "encoder.onnx")
    fp32_tables = {
        t.name: numpy_helper.to_array(t) for t in onnx.load(str(source)).graph.initializer
    }
    graph = onnx.load(str(target)).graph
    assert "QEmbedLayerNormalization" not in {node.op_type for node in graph.node}
    stored = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    (rows_name,) = [name for name in stored if name.endswith("_int8_rows")]
    table = rows_name.removesuffix("_int8_rows")
    rows, scales = stored[rows_name], stored[f"{table}_row_scales"]
    assert rows.dtype == np.int8 and scales.shape == (rows.shape[0], 1)
    # every number within half a step of its row's own scale
    error = np.abs(rows * scales - fp32_tables[table])
    assert (error <= scales / 2 + 1e-6).all()

    ids = np.array([[SPECIAL["cls"], 2023, 2003, 1037, 3231, SPECIAL["sep"]]])
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    outputs = [
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)
        for path in (source, target)
    ]
    np.testing.assert_allclose(outputs[1][2], outputs[0][2], atol=0.25)


def test_quantize_model_needs_the_fp32_encoder(tmp_path: Path, fp32_model: Path) -> None:
    from propscan.errors import PropscanError

    shutil.copy2(fp32_model / "model.json", tmp_path / "model.json")
    with pytest.raises(PropscanError, match=r"encoder-fp32\.onnx"):
        quantize_model(tmp_path, tmp_path / "out", ["text"])


class RowEncoder:
    """A row-wise fake encoder that records the shape of every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []

    def __call__(self, ids: np.ndarray, mask: np.ndarray):
        self.calls.append(ids.shape)
        values = np.sin(ids.astype(np.float32) + np.arange(ids.shape[1])[None, :])
        hidden = np.repeat(values[:, :, None], 4, axis=2)
        return values, np.repeat(values[:, :, None], len(TECHNIQUES), axis=2), hidden, None


class BatchScaledEncoder(RowEncoder):
    """Like dynamic quantisation, every output depends on the whole call's input."""

    def __call__(self, ids: np.ndarray, mask: np.ndarray):
        scale = 1.0 + float(ids.max()) / 1e5
        return tuple(None if part is None else part * scale for part in super().__call__(ids, mask))


def fake_detector(
    windows_per_call: int, encoder: RowEncoder | None = None, **config_extra: object
) -> tuple[TransformerDetector, RowEncoder]:
    from propscan.models.transformer.train import default_encoder_dir

    encoder = encoder or RowEncoder()
    head = SpanHead(
        np.zeros((4, 3 * 4 + 3)), np.zeros(4), np.zeros((len(TECHNIQUES), 4)), np.zeros(14)
    )
    config = {
        "special_tokens": SPECIAL,
        "windows_per_call": windows_per_call,
        "decoding": {"window_tokens": 30, "window_stride": 20},
        **config_extra,
    }
    tokenizer = load_tokenizer(default_encoder_dir())
    return TransformerDetector(tokenizer, encoder, head, config), encoder


def test_batched_calls_hold_windows_of_one_length(dev_split) -> None:
    articles = [article.text for article in dev_split.articles]
    # One window, a few windows, many windows (the fixture articles are short).
    texts = [articles[0][:40], articles[1], "\n\n".join(articles)]
    texts += ["Short one.", "Another short text here."]
    single, single_encoder = fake_detector(1)
    batched, batched_encoder = fake_detector(4)
    for one, many in zip(single.encode(texts), batched.encode(texts), strict=True):
        np.testing.assert_array_equal(one.hidden, many.hidden)
        np.testing.assert_array_equal(one.si_prob, many.si_prob)
    assert all(shape[0] == 1 for shape in single_encoder.calls)
    assert max(shape[0] for shape in batched_encoder.calls) == 4
    assert len(batched_encoder.calls) < len(single_encoder.calls)
    assert sum(s[0] for s in batched_encoder.calls) == sum(s[0] for s in single_encoder.calls)


def test_calls_group_by_length_and_keep_article_order() -> None:
    detector, _ = fake_detector(3)
    jobs = [(0, Window(0, 30)), (0, Window(20, 50)), (1, Window(0, 7)), (2, Window(0, 30))]
    jobs += [(2, Window(20, 50)), (3, Window(0, 7))]
    calls = detector._calls(jobs)
    assert [[job for job in call] for call in calls] == [
        [(1, Window(0, 7)), (3, Window(0, 7))],
        [(0, Window(0, 30)), (0, Window(20, 50)), (2, Window(0, 30))],
        [(2, Window(20, 50))],
    ]


@pytest.mark.slow
def test_export_fuses_attention_so_no_activation_products_remain(fp32_model: Path) -> None:
    """Each layer's attention is one fused node: its score and mixing products are inside
    it, in float, whatever the quantisation (static QDQ or dynamic) does to the rest."""
    import onnx

    graph = onnx.load(str(fp32_model / FP32_ENCODER)).graph
    kinds = [node.op_type for node in graph.node]
    assert kinds.count("Attention") == 2
    assert "EmbedLayerNormalization" in kinds
    assert activation_products(fp32_model / FP32_ENCODER) == []


def test_dynamic_models_batch_the_windows_of_one_article_only(dev_split) -> None:
    """A dynamically quantised model's calls never mix articles, so an article's outputs
    are the same alone and among others; fp32 models mix them."""
    texts = [article.text for article in dev_split.articles[:4]]
    dynamic, encoder = fake_detector(4, BatchScaledEncoder(), quantized=True)
    assert not dynamic.calls_mix_texts
    together = dynamic.encode(texts)
    assert max(shape[0] for shape in encoder.calls) > 1
    for text, batched in zip(texts, together, strict=True):
        (alone,) = dynamic.encode([text])
        np.testing.assert_array_equal(batched.hidden, alone.hidden)
    fp32, _ = fake_detector(4, BatchScaledEncoder())
    assert fp32.calls_mix_texts
    assert not all(
        np.array_equal(mixed.hidden, alone.hidden)
        for mixed, alone in zip(fp32.encode(texts), together, strict=True)
    )


def test_export_splits_residual_layer_norms_with_the_same_outputs(
    fp32_model: Path, tmp_path: Path
) -> None:
    """Exported graphs hold Add + LayerNormalization, not onnxruntime's slower fused
    SkipLayerNormalization; the rewrite gives a fused graph's outputs."""
    import onnx
    import onnxruntime as ort

    from propscan.models.transformer.export import export_onnx, unfuse_skip_layer_norm
    from propscan.models.transformer.network import TransformerNetwork
    from propscan.models.transformer.runtime import UNFUSED_OPTIMIZERS

    def op_types(path: Path) -> set[str]:
        return {node.op_type for node in onnx.load(str(path)).graph.node}

    assert "SkipLayerNormalization" not in op_types(fp32_model / FP32_ENCODER)
    assert "LayerNormalization" in op_types(fp32_model / FP32_ENCODER)

    network = TransformerNetwork(tiny_bert(), 32, len(TECHNIQUES))
    fused = export_onnx(network, tmp_path / "fused.onnx", SPECIAL, skip_layer_norm=True)
    model = onnx.load(str(fused))
    n_fused = sum(node.op_type == "SkipLayerNormalization" for node in model.graph.node)
    assert n_fused > 0
    assert unfuse_skip_layer_norm(model) == n_fused
    onnx.save(model, str(tmp_path / "split.onnx"))
    assert "SkipLayerNormalization" not in op_types(tmp_path / "split.onnx")

    ids = np.array([[SPECIAL["cls"], 2023, 2003, 1037, 3231, 999, SPECIAL["sep"]]])
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    outputs = [
        ort.InferenceSession(
            str(path), providers=["CPUExecutionProvider"], disabled_optimizers=UNFUSED_OPTIMIZERS
        ).run(None, feed)
        for path in (fused, tmp_path / "split.onnx")
    ]
    for fused_output, split_output in zip(*outputs, strict=True):
        np.testing.assert_allclose(split_output, fused_output, atol=1e-5)
