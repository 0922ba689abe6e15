"""Exporting a trained transformer to ONNX, with onnxruntime's transformer fusions.

Inference then needs only onnxruntime, tokenizers and numpy; the span head is saved
as plain arrays beside the encoder.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from propscan.models.base import write_model_config
from propscan.models.transformer.detector import ENCODER_FILE, SPAN_HEAD_FILE
from propscan.models.transformer.network import TransformerNetwork


class _ExportWrapper(nn.Module):
    def __init__(self, model: TransformerNetwork) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.model(input_ids, attention_mask)


def export_onnx(
    model: TransformerNetwork,
    path: Path,
    special: dict[str, int],
    fused: bool = True,
    skip_layer_norm: bool = False,
) -> Path:
    """Export the encoder and token heads to ONNX with dynamic batch and length, then fuse.

    The graph is traced with the plain ("eager") attention, whose pattern onnxruntime's
    transformer optimiser recognises and fuses into one Attention node per layer (plus
    fused embedding, skip and bias-GELU layer norms); traced from torch's fused
    scaled-dot-product attention it stays a chain of small operators. On the shipped
    model the fused int8 graph encodes about 1.4x more tokens per second
    (``benchmarks/encoder_levers.py``). Training keeps its own attention implementation.
    ``fused=False`` traces that implementation and leaves the graph as traced (what
    models before 0.2.1 shipped; the benchmark compares the two). ``skip_layer_norm``
    also fuses each residual addition into its layer norm (what models before 0.3.1
    shipped).
    """
    model.eval()
    example = torch.full((2, 16), special["pad"], dtype=torch.long)
    example[:, 0] = special["cls"]
    mask = torch.ones_like(example)
    path.parent.mkdir(parents=True, exist_ok=True)
    encoder = model.encoder
    if not fused:
        _trace(model, example, mask, path)
        return path
    trained_attention = encoder.config._attn_implementation
    encoder.set_attn_implementation("eager")
    try:
        _trace(model, example, mask, path)
    finally:
        encoder.set_attn_implementation(trained_attention)
    fuse_onnx(path, encoder.config, skip_layer_norm)
    return path


def _trace(
    model: TransformerNetwork, example: torch.Tensor, mask: torch.Tensor, path: Path
) -> None:
    torch.onnx.export(
        _ExportWrapper(model),
        (example, mask),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["si_logits", "technique_logits", "hidden", "sentence_logits"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "si_logits": {0: "batch", 1: "tokens"},
            "technique_logits": {0: "batch", 1: "tokens"},
            "hidden": {0: "batch", 1: "tokens"},
            "sentence_logits": {0: "batch", 1: "tokens"},
        },
        opset_version=17,
        dynamo=False,
    )


def fuse_onnx(path: Path, encoder_config: Any, skip_layer_norm: bool = False) -> None:
    """Rewrite ``path`` with onnxruntime's transformer fusions for the encoder's layout.

    Any Hugging Face encoder may be exported; one whose graph the optimiser does not
    recognise keeps its unfused (equally correct, slower) operators. Unless
    ``skip_layer_norm``, the fused residual layer norms are then split again
    (:func:`unfuse_skip_layer_norm`).
    """
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(path),
        model_type="bert",
        num_heads=int(encoder_config.num_attention_heads),
        hidden_size=int(encoder_config.hidden_size),
    )
    if not skip_layer_norm:
        unfuse_skip_layer_norm(optimized.model)
    optimized.save_model_to_file(str(path))


def unfuse_skip_layer_norm(graph_model: Any) -> int:
    """Replace every ``SkipLayerNormalization`` of an ONNX model by ``Add`` nodes (input,
    bias, residual) and a plain ``LayerNormalization``; returns how many were replaced.

    onnxruntime's fused kernel is the slower of the two on a 2-core CPU: the split int8
    graph encodes 1.05-1.33x more tokens per second, with the same outputs up to float
    rounding (``benchmarks/encoder_levers.py``); the detector keeps onnxruntime from
    fusing them again at load. Works on fp32 and int8 graphs alike, so an encoder
    exported before 0.3.1 can be rewritten as it is (``scripts/unfuse_layer_norm.py``).
    """
    from onnx import helper

    nodes, replaced = [], 0
    for node in graph_model.graph.node:
        if node.op_type != "SkipLayerNormalization" or len(node.output) != 1:
            nodes.append(node)
            continue
        value, skip, gamma, beta, *bias = node.input
        (epsilon,) = [a.f for a in node.attribute if a.name == "epsilon"]
        if bias and bias[0]:
            nodes.append(
                helper.make_node(
                    "Add", [value, bias[0]], [f"{node.name}_biased"], f"{node.name}_bias"
                )
            )
            value = f"{node.name}_biased"
        nodes += [
            helper.make_node("Add", [value, skip], [f"{node.name}_sum"], f"{node.name}_residual"),
            helper.make_node(
                "LayerNormalization",
                [f"{node.name}_sum", gamma, beta],
                list(node.output),
                f"{node.name}_norm",
                axis=-1,
                epsilon=epsilon,
            ),
        ]
        replaced += 1
    del graph_model.graph.node[:]
    graph_model.graph.node.extend(nodes)
    return replaced


def write_onnx_model(
    model: TransformerNetwork,
    onnx_path: Path,
    out: Path,
    encoder_dir: Path,
    config: dict[str, Any],
) -> Path:
    """Export ``model`` to ``onnx_path`` and write a loadable model directory ``out`` around it.

    ``out`` gets the span head, the tokenizer and ``model.json``; its encoder is a copy of
    ``onnx_path`` (or its int8 version, decided by the caller).
    """
    export_onnx(model, onnx_path, config["special_tokens"])
    model.span_head_numpy().save(out / SPAN_HEAD_FILE)
    shutil.copy2(encoder_dir / "tokenizer.json", out / "tokenizer.json")
    shutil.copy2(onnx_path, out / ENCODER_FILE)
    write_model_config(out, config)
    return onnx_path
