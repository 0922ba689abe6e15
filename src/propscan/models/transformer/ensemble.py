"""Several transformer models of one tokenizer run as one detector (a teacher to distil).

An ensemble of seeds is the most reliable way to gain accuracy at a fixed encoder size,
but it costs one encoder pass per member at analysis time. Here it serves training: its
averaged outputs are soft targets for one student model of the default's size
(:mod:`~propscan.models.transformer.examples`), and its own scores are an ablation row.

The members' outputs are combined where they are logits, so the ensemble is itself a
:class:`~propscan.models.transformer.detector.TransformerDetector` that the tuner and the
scorers read like any model: the token heads' logits are averaged, the hidden states are
set side by side, and the members' span heads become one span head whose technique
logits are the mean of theirs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from propscan.errors import PropscanError
from propscan.models.base import read_model_config
from propscan.models.transformer.detector import (
    ENCODER_FILE,
    SPAN_HEAD_FILE,
    TransformerDetector,
    load_companion,
)
from propscan.models.transformer.encoding import load_tokenizer
from propscan.models.transformer.heads import N_SPAN_FEATURES, SpanHead
from propscan.models.transformer.runtime import (
    EncoderFn,
    EncoderOutputs,
    onnx_encoder,
    requested_threads,
)

TOKENIZER_FILE = "tokenizer.json"


def mean_encoder(encoders: Sequence[EncoderFn]) -> EncoderFn:
    """One encoder whose logits are the mean of the members' and whose hidden states are
    the members' side by side (member order)."""

    def run(input_ids: np.ndarray, mask: np.ndarray) -> EncoderOutputs:
        outputs = [encoder(input_ids, mask) for encoder in encoders]
        sentences = [output[3] for output in outputs if output[3] is not None]
        return (
            np.mean([output[0] for output in outputs], axis=0),
            np.mean([output[1] for output in outputs], axis=0),
            np.concatenate([output[2] for output in outputs], axis=-1),
            np.mean(sentences, axis=0) if len(sentences) == len(outputs) else None,
        )

    return run


def mean_span_head(heads: Sequence[SpanHead], hidden_sizes: Sequence[int]) -> SpanHead:
    """The span head over side-by-side hidden states whose logits are the members' mean.

    A span's representation is ``[first, last, mean, features]`` of the side-by-side
    states, so member ``i`` reads its own slice of each of the three state blocks and the
    shared features; its first layer is placed there, and the second layers are averaged.
    """
    total = sum(hidden_sizes)
    width = 3 * total + N_SPAN_FEATURES
    w1 = np.zeros((sum(head.w1.shape[0] for head in heads), width))
    row, column = 0, 0
    for head, size in zip(heads, hidden_sizes, strict=True):
        if head.w1.shape[1] != 3 * size + N_SPAN_FEATURES:
            raise ValueError(f"a span head of width {head.w1.shape[1]} for hidden size {size}")
        rows = slice(row, row + head.w1.shape[0])
        for block in range(3):
            w1[rows, block * total + column : block * total + column + size] = head.w1[
                :, block * size : (block + 1) * size
            ]
        w1[rows, 3 * total :] = head.w1[:, 3 * size :]
        row, column = row + head.w1.shape[0], column + size
    return SpanHead(
        w1=w1,
        b1=np.concatenate([head.b1 for head in heads]),
        w2=np.concatenate([head.w2 for head in heads], axis=1) / len(heads),
        b2=np.mean([head.b2 for head in heads], axis=0),
    )


def load_ensemble(
    directories: Sequence[str | os.PathLike[str]], threads: int | None = None
) -> TransformerDetector:
    """The ensemble of the model directories (at least two, one tokenizer and one set of
    techniques); decoding settings and the classical companion come from the first.

    Its decoding settings are the first member's, a starting point: tune them on held-out
    articles (:func:`~propscan.models.transformer.tuning.tune_decoding`) before reading
    its scores.
    """
    paths = [Path(directory) for directory in directories]
    if len(paths) < 2:
        raise PropscanError("an ensemble needs at least two model directories")
    configs = [read_model_config(path) for path in paths]
    first = configs[0]
    for path, config in zip(paths, configs, strict=True):
        if config.get("kind") != "transformer":
            raise PropscanError(f"{path}: only transformer models can join an ensemble")
        if config.get("techniques") != first.get("techniques"):
            raise PropscanError(f"{path}: its techniques differ from those of {paths[0]}")
        if (path / TOKENIZER_FILE).read_bytes() != (paths[0] / TOKENIZER_FILE).read_bytes():
            raise PropscanError(f"{path}: its tokenizer differs from that of {paths[0]}")
    threads = requested_threads(threads)
    heads = [SpanHead.load(path / SPAN_HEAD_FILE) for path in paths]
    hidden_sizes = [(head.w1.shape[1] - N_SPAN_FEATURES) // 3 for head in heads]
    config = dict(first)
    config["name"] = f"{first.get('name', 'propscan-transformer')}-ensemble-{len(paths)}"
    config["ensemble"] = [str(path) for path in paths]
    # one int8 member is enough to keep each encoder call to the windows of one text
    config["quantized"] = any(member.get("quantized") for member in configs)
    return TransformerDetector(
        load_tokenizer(paths[0]),
        mean_encoder([onnx_encoder(path / ENCODER_FILE, threads) for path in paths]),
        mean_span_head(heads, hidden_sizes),
        config,
        None,
        load_companion(paths[0]),
    )
