"""Task-adaptive pre-training: masked-word passes over the training text before fine-tuning.

all-MiniLM-L6-v2 was last tuned to embed whole sentences, not to read news word by
word. A few passes of masked-language modelling over the articles being fitted (no
labels needed; Gururangan et al., 2020, "Don't Stop Pretraining") move the encoder
towards their language before the taggers are trained on it. Only the fitting
articles' text is read, so held-out and dev scores stay honest. Measured on PTC, 5
passes left held-out scores within the spread between runs
(``benchmarks/results/ablations.md``), so training leaves it off by default.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from propscan.errors import PropscanError
from propscan.models.transformer.encoding import (
    batch_windows,
    load_tokenizer,
    make_windows,
    special_token_ids,
    tokenize,
)
from propscan.models.transformer.network import linear_schedule

try:
    import torch
    from torch import nn
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise PropscanError(
        "training needs the 'train' extra: pip install 'propscan[train]'"
    ) from error

#: Share of word pieces chosen for prediction, and of those, the shares replaced by the
#: mask token and by a random word piece (the rest stay as they are): BERT's recipe.
MASK_SHARE = 0.15
MASK_TOKEN_SHARE = 0.8
RANDOM_TOKEN_SHARE = 0.1
#: Share of the steps over which the learning rate warms up (as in fine-tuning).
WARMUP_FRACTION = 0.06
#: Files of a Hugging Face model directory that describe its tokenizer.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
)
#: Written last into an adapted encoder directory: without it the directory is incomplete.
DONE_MARKER = "adaptation.json"


def mask_tokens(
    input_ids: torch.Tensor, maskable: torch.Tensor, mask_id: int, vocab_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's corruption: inputs with chosen pieces masked or replaced, and their targets.

    Targets are -100 (ignored) except at chosen positions; only ``maskable`` positions
    (word pieces, not special or padding tokens) are ever chosen.
    """
    chosen = (torch.rand(input_ids.shape) < MASK_SHARE) & maskable
    targets = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    roll = torch.rand(input_ids.shape)
    corrupted = input_ids.clone()
    corrupted[chosen & (roll < MASK_TOKEN_SHARE)] = mask_id
    replaced = chosen & (roll >= MASK_TOKEN_SHARE) & (roll < MASK_TOKEN_SHARE + RANDOM_TOKEN_SHARE)
    corrupted[replaced] = torch.randint(vocab_size, (int(replaced.sum()),))
    return corrupted, targets


def _mask_id(tokenizer: object) -> int:
    for token in ("[MASK]", "<mask>"):
        found = tokenizer.token_to_id(token)  # type: ignore[attr-defined]
        if found is not None:
            return int(found)
    raise PropscanError("the encoder's tokenizer has no mask token ([MASK] or <mask>)")


def _windows(texts: Sequence[str], tokenizer: object, size: int) -> list[np.ndarray]:
    """Word-piece ids of every text cut into windows of ``size`` that do not overlap."""
    windows = []
    for tokens in tokenize(tokenizer, texts):  # type: ignore[arg-type]
        for window in make_windows(len(tokens), size, size):
            windows.append(tokens.ids[window.start : window.end])
    return windows


def _masked_lm(encoder_dir: Path) -> tuple[nn.Module, nn.Module, nn.Module]:
    """The encoder with its masked-word head: (whole model, encoder, head)."""
    from transformers import AutoModelForMaskedLM

    try:
        model = AutoModelForMaskedLM.from_pretrained(str(encoder_dir))
    except (OSError, ValueError) as error:
        raise PropscanError(
            f"{encoder_dir}: cannot load the encoder with a masked-word head ({error})"
        ) from error
    heads = [module for module in model.children() if module is not model.base_model]
    if len(heads) != 1:
        raise PropscanError(
            f"{encoder_dir}: task-adaptive pre-training supports encoders whose masked-word "
            "head is one module (BERT, RoBERTa, MPNet); set adaptation_epochs=0 for this one"
        )
    return model, model.base_model, heads[0]


def adapt_encoder(
    encoder_dir: Path,
    texts: Sequence[str],
    out_dir: Path,
    *,
    epochs: int,
    learning_rate: float,
    window_tokens: int,
    batch_size: int,
    seed: int,
    progress: bool = True,
) -> Path:
    """``encoder_dir`` after ``epochs`` masked-word passes over ``texts``, saved in ``out_dir``.

    The head predicts only the chosen positions: a vocabulary-wide projection at every
    position made each step about 1.7 times slower on all-MiniLM-L6-v2. An ``out_dir``
    left complete by an earlier run with the same recipe is reused as it is (a resumed
    training run).
    """
    recipe = {
        "encoder": str(encoder_dir.resolve()),
        "texts": hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest(),
        "epochs": epochs,
        "learning_rate": learning_rate,
        "window_tokens": window_tokens,
        "batch_size": batch_size,
        "seed": seed,
    }
    if (out_dir / DONE_MARKER).is_file():
        return _reused(out_dir, recipe)
    torch.manual_seed(seed)
    order_random = random.Random(seed)
    tokenizer = load_tokenizer(encoder_dir)
    special = special_token_ids(tokenizer)
    mask_id = _mask_id(tokenizer)
    windows = _windows(texts, tokenizer, window_tokens)
    if not windows:
        raise PropscanError("task-adaptive pre-training found no text in the fitting articles")
    model, encoder, head = _masked_lm(encoder_dir)
    vocab_size = int(model.config.vocab_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    total_steps = epochs * math.ceil(len(windows) / batch_size)
    scheduler = linear_schedule(optimizer, total_steps, WARMUP_FRACTION)
    bar = tqdm(total=total_steps, desc="adapting", unit="step", disable=not progress)
    started = time.monotonic()
    losses: list[float] = []
    model.train()
    for epoch in range(epochs):
        order = list(range(len(windows)))
        order_random.shuffle(order)
        for first in range(0, len(order), batch_size):
            batch = [windows[k] for k in order[first : first + batch_size]]
            input_ids, attention, maskable = _batch(batch, special)
            corrupted, targets = mask_tokens(input_ids, maskable, mask_id, vocab_size)
            chosen = targets != -100
            if not chosen.any():
                continue
            hidden = encoder(input_ids=corrupted, attention_mask=attention).last_hidden_state
            loss = nn.functional.cross_entropy(head(hidden[chosen]), targets[chosen])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(losses[-50:]):.3f}")
    bar.close()
    _save(encoder_dir, encoder, out_dir)
    report = {
        "recipe": recipe,
        "windows": len(windows),
        "steps": len(losses),
        "first_loss": round(float(np.mean(losses[:20])), 4),
        "last_loss": round(float(np.mean(losses[-20:])), 4),
        "seconds": round(time.monotonic() - started, 1),
    }
    (out_dir / DONE_MARKER).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return out_dir


def _reused(out_dir: Path, recipe: dict[str, object]) -> Path:
    """``out_dir`` when an earlier run adapted it with ``recipe``; otherwise a clear error."""
    try:
        earlier = json.loads((out_dir / DONE_MARKER).read_text(encoding="utf-8")).get("recipe")
    except (OSError, ValueError, AttributeError):
        earlier = None
    if earlier != recipe:
        raise PropscanError(
            f"{out_dir} holds an encoder adapted with other settings, encoder or articles; "
            "train into a new directory, or delete that one to adapt again"
        )
    return out_dir


def _batch(
    batch: Sequence[np.ndarray], special: dict[str, int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`batch_windows` as tensors, with the word-piece positions (the only ones that
    may be chosen for prediction: not [CLS], [SEP] or padding)."""
    input_ids, attention = batch_windows(batch, special["cls"], special["sep"], special["pad"])
    positions = np.arange(input_ids.shape[1])
    lengths = np.asarray([len(ids) for ids in batch])[:, None]
    maskable = (positions >= 1) & (positions <= lengths)
    return torch.from_numpy(input_ids), torch.from_numpy(attention), torch.from_numpy(maskable)


def _save(encoder_dir: Path, adapted: nn.Module, out_dir: Path) -> None:
    """The adapted weights in a full copy of the original encoder (pooler included)."""
    from transformers import AutoModel

    original = AutoModel.from_pretrained(str(encoder_dir))
    original.load_state_dict(adapted.state_dict(), strict=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    original.save_pretrained(str(out_dir))
    for name in TOKENIZER_FILES:
        if (encoder_dir / name).is_file():
            shutil.copy2(encoder_dir / name, out_dir / name)
