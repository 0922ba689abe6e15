"""Int8 quantisation of the exported encoder: static (calibrated) or dynamic.

Static quantisation fixes every activation scale ahead of time from real train windows,
so a window's outputs do not depend on the other windows of its encoder call; windows
of several articles can then share one call (``windows_per_call`` in ``model.json``).
Dynamic quantisation derives activation scales from each input tensor at run time, so
its calls hold the windows of one article only, keeping an article's spans independent
of its neighbours.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from propscan.errors import PropscanError
from propscan.models.base import read_model_config, write_model_config
from propscan.models.decoding import DecodingSettings
from propscan.models.transformer.detector import ENCODER_FILE
from propscan.models.transformer.encoding import (
    batch_windows,
    load_tokenizer,
    make_windows,
    tokenize,
)

#: Calibration methods by the name used in settings and on the command line.
CALIBRATION_METHODS = ("minmax", "percentile", "entropy")
#: Windows per encoder call for statically quantised models (16 vs 1: about 1.3x on
#: 2 cores; other sizes not measured).
STATIC_WINDOWS_PER_CALL = 16
#: Fused operators (Attention, SkipLayerNormalization, ...) come from onnxruntime's own
#: domain, whose output types ONNX shape inference cannot see; every tensor there is
#: float (onnx.TensorProto.FLOAT, written as its number so that importing needs no onnx).
FUSED_GRAPH_TYPES: dict[str, Any] = {"DefaultTensorType": 1}
FP32_ENCODER = Path("checkpoint") / "encoder-fp32.onnx"


@dataclass(frozen=True)
class StaticSettings:
    """How a static int8 encoder is made; stored in ``model.json`` under ``quantization``."""

    method: str = "minmax"
    #: Percentile kept by the ``percentile`` method (the rest is clipped).
    percentile: float = 99.999
    #: Run onnxruntime's ``quant_pre_process`` (shape inference, graph clean-up) first.
    preprocess: bool = True
    per_channel: bool = True
    #: Operators whose inputs get int8 (``MatMul`` covers every dense and attention product).
    op_types: tuple[str, ...] = ("MatMul",)
    #: Also quantise the attention products (activation x activation), not only the
    #: products with weights.
    attention: bool = True
    #: Train windows fed to the calibrator, spread over articles.
    calibration_windows: int = 96
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in CALIBRATION_METHODS:
            raise PropscanError(
                f"unknown calibration method {self.method!r}; use one of {CALIBRATION_METHODS}"
            )
        object.__setattr__(self, "op_types", tuple(self.op_types))


def calibration_windows(
    tokenizer: Any,
    texts: Sequence[str],
    window_tokens: int,
    window_stride: int,
    count: int,
    seed: int = 0,
) -> list[np.ndarray]:
    """``count`` token windows drawn evenly from the texts' windows, as inference makes them."""
    windows = [
        tokens.ids[window.start : window.end]
        for tokens in tokenize(tokenizer, texts)
        for window in make_windows(len(tokens), window_tokens, window_stride)
    ]
    if not windows:
        raise PropscanError("no text to calibrate the quantised encoder on")
    order = np.random.default_rng(seed).permutation(len(windows))[:count]
    return [windows[i] for i in sorted(order)]


class WindowReader:
    """A ``CalibrationDataReader`` feeding token windows to onnxruntime's calibrator."""

    def __init__(
        self, windows: Sequence[np.ndarray], special: dict[str, int], batch_size: int = 8
    ) -> None:
        self.windows = list(windows)
        self.special = special
        self.batch_size = batch_size
        self._batches: Iterator[dict[str, np.ndarray]] | None = None

    def _make(self) -> Iterator[dict[str, np.ndarray]]:
        # Equal-length windows share a call, as at inference, so no padding is calibrated.
        by_length: dict[int, list[np.ndarray]] = {}
        for window in self.windows:
            by_length.setdefault(len(window), []).append(window)
        for group in by_length.values():
            for begin in range(0, len(group), self.batch_size):
                ids, mask = batch_windows(
                    group[begin : begin + self.batch_size],
                    self.special["cls"],
                    self.special["sep"],
                    self.special["pad"],
                )
                yield {"input_ids": ids, "attention_mask": mask}

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._batches is None:
            self._batches = self._make()
        return next(self._batches, None)

    def rewind(self) -> None:
        self._batches = None


def _reader_class() -> type:
    """WindowReader registered as onnxruntime's CalibrationDataReader (imported lazily)."""
    from onnxruntime.quantization import CalibrationDataReader

    return type("OrtWindowReader", (WindowReader, CalibrationDataReader), {})


def activation_products(path: str | os.PathLike[str]) -> list[str]:
    """Names of the MatMul nodes multiplying two activations (attention scores and mixing)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    constants = {tensor.name for tensor in graph.initializer}
    constants |= {out for node in graph.node if node.op_type == "Constant" for out in node.output}
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and node.input[1] not in constants
    ]


def quantize_static_encoder(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    windows: Sequence[np.ndarray],
    special: dict[str, int],
    settings: StaticSettings | None = None,
) -> Path:
    """QDQ int8 encoder with per-channel weights and activation scales from ``windows``."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    settings = settings or StaticSettings()
    method = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }[settings.method]
    extra: dict[str, Any] = dict(FUSED_GRAPH_TYPES)
    if settings.method == "percentile":
        extra["CalibPercentile"] = settings.percentile
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    source, target = Path(source).resolve(), target.resolve()
    # onnxruntime writes its intermediate models to the working directory: keep them apart.
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
        model_input = source
        if settings.preprocess:
            from onnxruntime.quantization.shape_inference import quant_pre_process

            model_input = Path(scratch) / "preprocessed.onnx"
            # The exported graph's dynamic lengths defeat symbolic shape inference; onnx's
            # own inference and onnxruntime's graph clean-up still apply.
            quant_pre_process(str(source), str(model_input), skip_symbolic_shape=True)
        reader = _reader_class()(windows, special)
        quantize_static(
            str(model_input),
            str(target),
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(settings.op_types),
            # onnxruntime ignores MatMulConstBOnly in QDQ format: exclude by name.
            nodes_to_exclude=None if settings.attention else activation_products(model_input),
            per_channel=settings.per_channel,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=method,
            extra_options=extra,
        )
    return target


#: Embedding tables with at least this many numbers are stored as int8 rows, one scale each.
ROW_TABLE_MIN_SIZE = 500_000


def _embedding_tables(model: Any) -> dict[str, str]:
    """``{lookup node name: table name}`` for the large float tables the graph looks up
    (the word embeddings, in ``Gather`` or a fused ``EmbedLayerNormalization``)."""
    from onnx import TensorProto

    tables = {
        tensor.name
        for tensor in model.graph.initializer
        if tensor.data_type == TensorProto.FLOAT and np.prod(tensor.dims) >= ROW_TABLE_MIN_SIZE
    }
    slots = {"Gather": 0, "EmbedLayerNormalization": 2}
    return {
        node.name: node.input[slots[node.op_type]]
        for node in model.graph.node
        if node.op_type in slots and node.input[slots[node.op_type]] in tables
    }


def _store_rows_as_int8(model: Any, table: str) -> None:
    """Replace the float table ``table`` by int8 rows with one scale per row.

    The graph turns them back into floats (``Cast`` and ``Mul`` of constants, which
    onnxruntime folds once when it loads the model), so the file holds one byte per number
    and a lookup costs what it did. One scale per row keeps each word's vector to within
    half a step of its own largest value, where one scale for the whole table (what
    onnxruntime's dynamic quantiser gives an embedding) is set by the largest value of all.
    """
    from onnx import TensorProto, helper, numpy_helper

    (tensor,) = [t for t in model.graph.initializer if t.name == table]
    values = numpy_helper.to_array(tensor).astype(np.float32)
    scales = np.abs(values).max(axis=1, keepdims=True) / 127.0
    scales[scales == 0.0] = 1.0
    rows = np.clip(np.round(values / scales), -127, 127).astype(np.int8)
    model.graph.initializer.remove(tensor)
    model.graph.initializer.extend(
        [
            numpy_helper.from_array(rows, f"{table}_int8_rows"),
            numpy_helper.from_array(scales.astype(np.float32), f"{table}_row_scales"),
        ]
    )
    nodes = [
        helper.make_node(
            "Cast",
            [f"{table}_int8_rows"],
            [f"{table}_rows"],
            to=TensorProto.FLOAT,
            name=f"{table}_cast",
        ),
        helper.make_node(
            "Mul", [f"{table}_rows", f"{table}_row_scales"], [table], name=f"{table}_scale"
        ),
    ]
    for index, node in enumerate(nodes):
        model.graph.node.insert(index, node)


def quantize_dynamic_encoder(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    per_channel: bool = True,
    row_embeddings: bool = True,
) -> Path:
    """Weights int8, activations quantised per call (the windows of one article at inference).

    Per-channel scales keep held-out FLC F1 within half a point of fp32, where one scale
    per tensor loses more than a point. With ``row_embeddings`` the embedding lookup is
    left out of onnxruntime's quantiser (which gives the table, the position embeddings
    and the layer norm one 8-bit scale each) and the word table is stored as int8 rows
    instead (:func:`_store_rows_as_int8`).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lookups = _embedding_tables(onnx.load(str(source))) if row_embeddings else {}
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        nodes_to_exclude=list(lookups),
        extra_options=FUSED_GRAPH_TYPES,
    )
    if lookups:
        model = onnx.load(str(target))
        for table in sorted(set(lookups.values())):
            _store_rows_as_int8(model, table)
        onnx.save(model, str(target))
    return target


def quantize_model(
    model_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    calibration_texts: Sequence[str],
    settings: StaticSettings | None = None,
    windows_per_call: int = STATIC_WINDOWS_PER_CALL,
) -> Path:
    """A copy of a transformer model directory whose encoder is statically quantised.

    The fp32 encoder is read from ``checkpoint/encoder-fp32.onnx`` (written by training);
    ``calibration_texts`` should be train articles outside the validation part.
    """
    from dataclasses import asdict

    settings = settings or StaticSettings()
    source, out = Path(model_dir), Path(out_dir)
    fp32 = source / FP32_ENCODER
    if not fp32.is_file():
        raise PropscanError(f"{source}: no {FP32_ENCODER} to quantise")
    config = read_model_config(source)
    if out.resolve() != source.resolve():
        # The checkpoint (fp32 encoder, training state) is not needed to run the model, and
        # the encoder is written by quantisation.
        ignore = shutil.ignore_patterns("checkpoint", ENCODER_FILE)
        shutil.copytree(source, out, dirs_exist_ok=True, ignore=ignore)
    decoding = DecodingSettings.from_config(config.get("decoding", {}))
    tokenizer = load_tokenizer(source)
    windows = calibration_windows(
        tokenizer,
        calibration_texts,
        decoding.window_tokens,
        decoding.window_stride,
        settings.calibration_windows,
        settings.seed,
    )
    quantize_static_encoder(fp32, out / ENCODER_FILE, windows, config["special_tokens"], settings)
    config.pop("format_version", None)
    config["quantized"] = True
    config["quantization"] = {"kind": "static", **asdict(settings)}
    config["quantization"]["op_types"] = list(settings.op_types)
    config["windows_per_call"] = windows_per_call
    write_model_config(out, config)
    return out
