"""A random 2-layer BERT with the real MiniLM vocabulary: a fast stand-in encoder for tests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def tiny_bert() -> Any:
    """The same small random BERT every time (seeded), so tests that train or export agree."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    return BertModel(config)


def save_tiny_encoder(directory: Path) -> Path:
    """:func:`tiny_bert` with the real MiniLM tokenizer, as a Hugging Face model directory."""
    from propscan.models.transformer.recipe import default_encoder_dir

    tiny_bert().save_pretrained(directory)
    shutil.copy2(default_encoder_dir() / "tokenizer.json", directory / "tokenizer.json")
    return directory
