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

from propscan.models.transformer.detector import SPAN_HEAD_FILE
from propscan.models.transformer.network import TransformerNetwork


class _ExportWrapper(nn.Module):
    def __init__(self, model: TransformerNetwork) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.model(input_ids, attention_mask)


def export_onnx(model: TransformerNetwork, path: Path, special: dict[str, int]) -> Path:
    """Export the encoder and token heads to ONNX with dynamic batch and length, then fuse.

    The graph is traced with the plain ("eager") attention, whose pattern onnxruntime's
    transformer optimiser recognises and fuses into one Attention node per layer (plus
    fused embedding, skip and bias-GELU layer norms); traced from torch's fused
    scaled-dot-product attention it stays a chain of small operators. On the shipped
    model the fused int8 graph encodes about 1.4x more tokens per second
    (``benchmarks/results/encoder_levers.md``). Training keeps its own attention
    implementation.
    """
    model.eval()
    example = torch.full((2, 16), special["pad"], dtype=torch.long)
    example[:, 0] = special["cls"]
    mask = torch.ones_like(example)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a transformers model; typed as nn.Module, whose attributes read as Tensor | Module
    encoder: Any = model.encoder
    trained_attention = encoder.config._attn_implementation
    encoder.set_attn_implementation("eager")
    try:
        _trace(model, example, mask, path)
    finally:
        encoder.set_attn_implementation(trained_attention)
    fuse_onnx(path, encoder.config)
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


def fuse_onnx(path: Path, encoder_config: Any) -> None:
    """Rewrite ``path`` with onnxruntime's transformer fusions for the encoder's layout.

    Any Hugging Face encoder may be exported; one whose graph the optimiser does not
    recognise keeps its unfused (equally correct, slower) operators. The fused residual
    layer norms are then split again (:func:`unfuse_skip_layer_norm`).
    """
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(path),
        model_type="bert",
        num_heads=int(encoder_config.num_attention_heads),
        hidden_size=int(encoder_config.hidden_size),
    )
    unfuse_skip_layer_norm(optimized.model)
    optimized.save_model_to_file(str(path))


def unfuse_skip_layer_norm(graph_model: Any) -> int:
    """Replace every ``SkipLayerNormalization`` of an ONNX model by ``Add`` nodes (input,
    bias, residual) and a plain ``LayerNormalization``; returns how many were replaced.

    onnxruntime's fused kernel is the slower of the two on a 2-core CPU: the split int8
    graph encodes 1.05-1.33x more tokens per second, with the same outputs up to float
    rounding (``benchmarks/results/encoder_levers.md``); the detector keeps onnxruntime
    from fusing them again at load.
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


def export_model(
    model: TransformerNetwork,
    onnx_path: Path,
    out: Path,
    encoder_dir: Path,
    special: dict[str, int],
) -> Path:
    """Export ``model``'s encoder to ``onnx_path``, and its span head and the encoder's
    tokenizer into the model directory ``out`` (whose ``model.json`` the caller writes)."""
    export_onnx(model, onnx_path, special)
    out.mkdir(parents=True, exist_ok=True)
    model.span_head_numpy().save(out / SPAN_HEAD_FILE)
    shutil.copy2(encoder_dir / "tokenizer.json", out / "tokenizer.json")
    return onnx_path
