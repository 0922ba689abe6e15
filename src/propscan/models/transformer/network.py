"""The transformer model as a torch network, for training and export (needs the ``train`` extra).

:class:`TransformerNetwork` is the same model that :class:`TransformerDetector` runs
with onnxruntime: the encoder with a per-token propaganda head, a per-token technique
head, a per-token "my sentence holds propaganda" head and the span classifier whose
weights become the numpy :class:`SpanHead`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from propscan.errors import PropscanError
from propscan.models.transformer.heads import N_SPAN_FEATURES, SpanHead

try:
    import torch
    from torch import nn
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise PropscanError(
        "training needs the 'train' extra: pip install 'propscan[train]'"
    ) from error


class TransformerNetwork(nn.Module):
    """Encoder with propaganda, technique and sentence heads and a span classifier."""

    def __init__(self, encoder: nn.Module, hidden_size: int, n_techniques: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(0.1)
        self.si_head = nn.Linear(hidden_size, 1)
        self.technique_head = nn.Linear(hidden_size, n_techniques)
        self.sentence_head = nn.Linear(hidden_size, 1)
        self.span_hidden = nn.Linear(3 * hidden_size + N_SPAN_FEATURES, hidden_size)
        self.span_out = nn.Linear(hidden_size, n_techniques)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        dropped = self.dropout(hidden)
        si = self.si_head(dropped).squeeze(-1)
        techniques = self.technique_head(dropped)
        sentence = self.sentence_head(dropped).squeeze(-1)
        return si, techniques, hidden, sentence

    def classify_spans(self, representations: torch.Tensor) -> torch.Tensor:
        hidden = nn.functional.gelu(
            self.span_hidden(self.dropout(representations)), approximate="tanh"
        )
        return self.span_out(hidden)

    def span_head_numpy(self) -> SpanHead:
        """The span classifier as the numpy head that inference runs."""

        def array(tensor: torch.Tensor) -> np.ndarray:
            return tensor.detach().cpu().numpy().astype(np.float32)

        return SpanHead(
            array(self.span_hidden.weight),
            array(self.span_hidden.bias),
            array(self.span_out.weight),
            array(self.span_out.bias),
        )


def build_network(encoder_dir: Path, n_techniques: int) -> TransformerNetwork:
    """A fresh network around the Hugging Face encoder in ``encoder_dir``, with technique
    heads of ``n_techniques`` outputs."""
    from transformers import AutoModel

    try:
        encoder = AutoModel.from_pretrained(str(encoder_dir))
    except (OSError, ValueError) as error:
        raise PropscanError(
            f"{encoder_dir}: cannot load a Hugging Face encoder ({error})"
        ) from error
    return TransformerNetwork(encoder, encoder.config.hidden_size, n_techniques)


class TorchEncoder:
    """The torch network as an ``EncoderFn``, so that the numpy decoding runs on it unchanged."""

    def __init__(self, model: TransformerNetwork) -> None:
        self.model = model

    @torch.no_grad()
    def __call__(
        self, input_ids: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        self.model.eval()
        si, techniques, hidden, sentence = self.model(
            torch.from_numpy(input_ids), torch.from_numpy(mask)
        )
        return si.numpy(), techniques.numpy(), hidden.numpy(), sentence.numpy()


def linear_schedule(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_fraction: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_fraction`` of the steps, then linear decay to 0."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
