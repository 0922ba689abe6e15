"""Export and dynamic int8 quantisation of a tiny encoder, and batching that cannot leak.

A randomly initialised two-layer BERT (hidden size 32) with the real tokenizer, wrapped
in the transformer network (token, technique and sentence heads), keeps the export and
quantisation to a few seconds while running exactly the code that quantises a trained
model. Windows of 30 tokens give the fixture corpus's short articles several windows each.
"""

from __future__ import annotations

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

from propscan.models.transformer.quantization import quantize_dynamic_encoder  # noqa: E402

FP32_ENCODER = Path("checkpoint") / "encoder-fp32.onnx"
SPECIAL = {"cls": 101, "sep": 102, "pad": 0}
WINDOW_TOKENS, WINDOW_STRIDE = 30, 20


@pytest.fixture(scope="module")
def fp32_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory around a random 2-layer BERT, as training writes it (fp32)."""
    from propscan.models.base import write_model_config
    from propscan.models.transformer.export import export_model
    from propscan.models.transformer.network import TransformerNetwork
    from propscan.models.transformer.recipe import default_encoder_dir

    out = tmp_path_factory.mktemp("fp32-model")
    model = TransformerNetwork(tiny_bert(), 32, len(TECHNIQUES))
    export_model(model, out / FP32_ENCODER, out, default_encoder_dir(), SPECIAL)
    shutil.copy2(out / FP32_ENCODER, out / "encoder.onnx")
    write_model_config(
        out,
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


@pytest.mark.slow
def test_dynamic_option_writes_a_smaller_encoder(fp32_model: Path, tmp_path: Path) -> None:
    target = quantize_dynamic_encoder(fp32_model / FP32_ENCODER, tmp_path / "encoder.onnx")
    assert target.stat().st_size < (fp32_model / FP32_ENCODER).stat().st_size


@pytest.mark.slow
def test_dynamic_int8_stores_the_word_table_as_int8_rows(fp32_model: Path, tmp_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    from propscan.models.transformer.runtime import inference_session

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
    outputs = [inference_session(path, threads=1).run(None, feed) for path in (source, target)]
    np.testing.assert_allclose(outputs[1][2], outputs[0][2], atol=0.25)


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
    from propscan.models.transformer.recipe import default_encoder_dir

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
    calls = detector.windowed._calls(jobs)
    assert [[job for job in call] for call in calls] == [
        [(1, Window(0, 7)), (3, Window(0, 7))],
        [(0, Window(0, 30)), (0, Window(20, 50)), (2, Window(0, 30))],
        [(2, Window(20, 50))],
    ]


@pytest.mark.slow
def test_export_fuses_attention_so_no_activation_products_remain(fp32_model: Path) -> None:
    """Each layer's attention is one fused node: its score and mixing products are inside
    it, in float, whatever the int8 quantisation does to the rest."""
    import onnx

    graph = onnx.load(str(fp32_model / FP32_ENCODER)).graph
    kinds = [node.op_type for node in graph.node]
    assert kinds.count("Attention") == 2
    assert "EmbedLayerNormalization" in kinds
    constants = {tensor.name for tensor in graph.initializer}
    constants |= {out for node in graph.node if node.op_type == "Constant" for out in node.output}
    products = [n for n in graph.node if n.op_type == "MatMul" and n.input[1] not in constants]
    assert products == []


def test_dynamic_models_batch_the_windows_of_one_article_only(dev_split) -> None:
    """A dynamically quantised model's calls never mix articles, so an article's outputs
    are the same alone and among others; fp32 models mix them."""
    texts = [article.text for article in dev_split.articles[:4]]
    dynamic, encoder = fake_detector(4, BatchScaledEncoder(), quantized=True)
    assert not dynamic.windowed.calls_mix_texts
    together = dynamic.encode(texts)
    assert max(shape[0] for shape in encoder.calls) > 1
    for text, batched in zip(texts, together, strict=True):
        (alone,) = dynamic.encode([text])
        np.testing.assert_array_equal(batched.hidden, alone.hidden)
    fp32, _ = fake_detector(4, BatchScaledEncoder())
    assert fp32.windowed.calls_mix_texts
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

    from onnxruntime.transformers.optimizer import optimize_model

    network = TransformerNetwork(tiny_bert(), 32, len(TECHNIQUES))
    split = export_onnx(network, tmp_path / "exported.onnx", SPECIAL)
    # onnxruntime's optimiser fuses the split graph's residual layer norms back
    fused = tmp_path / "fused.onnx"
    optimize_model(str(split), model_type="bert", num_heads=2, hidden_size=32).save_model_to_file(
        str(fused)
    )
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
