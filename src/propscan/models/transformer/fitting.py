"""The transformer's training loop: batches, losses, AdamW, and checkpoints to resume from.

One encoder pass per window trains four heads at once (see
:mod:`~propscan.models.transformer.examples`). Every ``checkpoint_every`` steps the
model, optimiser, scheduler, step, loss history and torch's random state are saved; the
data order is a function of the seed and the epoch, so a run resumed from its last
checkpoint continues exactly as an uninterrupted one would. A checkpoint written with
other settings or data is refused rather than continued: it would end with weights that
no single run gives.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from propscan.errors import PropscanError
from propscan.models.transformer.encoding import batch_windows
from propscan.models.transformer.examples import WindowExample
from propscan.models.transformer.network import TransformerNetwork, linear_schedule
from propscan.models.transformer.recipe import TrainingSettings

try:
    import torch
    from torch import nn
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise PropscanError(
        "training needs the 'train' extra: pip install 'propscan[train]'"
    ) from error


def batch_tensors(batch: Sequence[WindowExample], special: dict[str, int]) -> dict[str, Any]:
    """Padded ``[CLS] window [SEP]`` inputs, the targets of the window tokens and each
    token's weight (its window's)."""
    input_ids, mask = batch_windows(
        [example.ids for example in batch], special["cls"], special["sep"], special["pad"]
    )
    width = input_ids.shape[1]
    n_techniques = batch[0].techniques.shape[1]
    si = torch.zeros((len(batch), width))
    techniques = torch.zeros((len(batch), width, n_techniques))
    token_mask = torch.zeros((len(batch), width), dtype=torch.bool)
    sentence = torch.zeros((len(batch), width))
    weights = torch.zeros((len(batch), width))
    for row, example in enumerate(batch):
        n = len(example.ids)
        si[row, 1 : n + 1] = torch.from_numpy(example.si)
        techniques[row, 1 : n + 1] = torch.from_numpy(example.techniques)
        token_mask[row, 1 : n + 1] = True
        sentence[row, 1 : n + 1] = torch.from_numpy(example.sentence)
        weights[row, 1 : n + 1] = example.weight
    return {
        "input_ids": torch.from_numpy(input_ids),
        "mask": torch.from_numpy(mask),
        "si": si,
        "techniques": techniques,
        "token_mask": token_mask,
        "sentence": sentence,
        "weights": weights,
    }


def span_batch(
    hidden: torch.Tensor, batch: Sequence[WindowExample]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None] | None:
    """Span representations as :func:`~.heads.span_representations` builds them at
    inference, their technique columns, their windows' weights, and the distributions
    they are fitted to when a teacher gave any (else None)."""
    representations, labels, weights, targets = [], [], [], []
    taught = any(example.span_targets for example in batch)
    n_techniques = batch[0].techniques.shape[1]
    for row, example in enumerate(batch):
        for i, (first, last, k, features) in enumerate(example.spans):
            a, b = first + 1, last + 1  # +1 for [CLS]
            representations.append(
                torch.cat(
                    [
                        hidden[row, a],
                        hidden[row, b - 1],
                        hidden[row, a:b].mean(0),
                        torch.from_numpy(features).to(hidden.device),
                    ]
                )
            )
            labels.append(k)
            weights.append(example.weight)
            if taught:
                own = example.span_targets[i] if example.span_targets else None
                targets.append(np.eye(n_techniques, dtype=np.float32)[k] if own is None else own)
    if not representations:
        return None
    device = hidden.device
    return (
        torch.stack(representations),
        torch.tensor(labels, device=device),
        torch.tensor(weights, device=device),
        torch.from_numpy(np.stack(targets)).to(device) if taught else None,
    )


def technique_weights(examples: Sequence[WindowExample], balance: float) -> np.ndarray | None:
    """Per-technique weights of the span classifier's loss (None when ``balance`` is 0).

    A technique seen ``n`` times among the gold spans weighs ``n ** -balance`` (one seen
    never weighs as one seen once), scaled so that the mean weight over the spans is 1:
    the loss keeps its size next to the token losses.
    """
    if balance == 0.0 or not examples:
        return None
    techniques = [technique for example in examples for _, _, technique, _ in example.spans]
    n_techniques = examples[0].techniques.shape[1]
    counts = np.bincount(np.asarray(techniques, dtype=np.int64), minlength=n_techniques)
    weights = np.maximum(counts, 1).astype(np.float64) ** -balance
    if counts.sum() > 0:
        weights /= (weights * counts).sum() / counts.sum()
    return weights.astype(np.float32)


class _Loss:
    """Token propaganda, technique and sentence losses, plus the span classifier's; every
    token and span weighs as its window does (a weighted mean, so the loss keeps its size)."""

    def __init__(
        self,
        settings: TrainingSettings,
        special: dict[str, int],
        examples: Sequence[WindowExample] = (),
        device: str = "cpu",
    ) -> None:
        self.settings = settings
        self.special = special
        self.device = device
        self.bce = nn.BCEWithLogitsLoss(reduction="none")
        balance = technique_weights(examples, settings.technique_balance)
        self.cross_entropy = nn.CrossEntropyLoss(
            weight=None if balance is None else torch.from_numpy(balance).to(device),
            reduction="none",
        )

    def __call__(self, model: TransformerNetwork, batch: Sequence[WindowExample]) -> torch.Tensor:
        tensors = {
            name: tensor.to(self.device)
            for name, tensor in batch_tensors(batch, self.special).items()
        }
        si_logits, technique_logits, hidden, sentence_logits = model(
            tensors["input_ids"], tensors["mask"]
        )
        token_mask = tensors["token_mask"]
        weights = tensors["weights"][token_mask]

        def token_mean(losses: torch.Tensor) -> torch.Tensor:
            return (losses[token_mask] * weights).sum() / weights.sum()

        si_loss = token_mean(self.bce(si_logits, tensors["si"]))
        per_technique = self.bce(technique_logits, tensors["techniques"]).mean(-1)
        technique_loss = token_mean(per_technique)
        sentence_loss = token_mean(self.bce(sentence_logits, tensors["sentence"]))
        loss = (
            si_loss
            + self.settings.technique_loss_weight * technique_loss
            + self.settings.sentence_loss_weight * sentence_loss
        )
        spans = span_batch(hidden, batch)
        if spans is not None:
            representations, labels, span_weights, targets = spans
            logits = model.classify_spans(representations)
            if targets is None:
                losses = self.cross_entropy(logits, labels)
            else:  # the teacher's distributions; weighted by the gold technique's balance
                losses = -(targets * torch.log_softmax(logits, dim=-1)).sum(-1)
                if self.cross_entropy.weight is not None:
                    losses = losses * self.cross_entropy.weight[labels]
            class_weights = (
                torch.ones_like(losses)
                if self.cross_entropy.weight is None
                else self.cross_entropy.weight[labels]
            )
            span_loss = (losses * span_weights).sum() / (class_weights * span_weights).sum()
            loss = loss + self.settings.span_loss_weight * span_loss
        return loss


def checkpoint_path(out_dir: Path) -> Path:
    return out_dir / "checkpoint" / "last.pt"


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)  # a kill mid-save never corrupts the last checkpoint


def _epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    order = list(range(n))
    random.Random(seed * 1000 + epoch).shuffle(order)
    return order


def _optimizer(model: TransformerNetwork, settings: TrainingSettings) -> torch.optim.AdamW:
    """AdamW: one learning rate for the encoder, one for the heads."""
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    head_params = [p for name, p in model.named_parameters() if not name.startswith("encoder.")]
    return torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": settings.encoder_lr},
            {"params": head_params, "lr": settings.head_lr},
        ],
        weight_decay=settings.weight_decay,
    )


#: Settings that never change the fitted weights: a run may resume with others (a long
#: run on a machine that is lent for sittings may, say, save its checkpoint more often).
_NOT_FITTED_SETTINGS = frozenset(
    {
        "checkpoint_every",
        "quantize",
        "quantization_tolerance",
        "refit",
        "companion",
        "inference_window_stride",
        "windows_per_call",
    }
)


def _fingerprint(examples: Sequence[WindowExample]) -> str:
    """A digest of every window's tokens, targets and weight: the same number of windows
    carrying other gold (an edited label file, other teachers' probabilities) differs."""
    digest = hashlib.sha256()

    def add(array: Any) -> None:
        # probabilities rounded: a teacher's last bits may differ between machines
        digest.update(np.round(np.asarray(array, dtype=np.float64), 4).tobytes())

    for example in examples:
        for array in (example.ids, example.si, example.techniques, example.sentence):
            add(array)
        for first, last, column, features in example.spans:
            add([first, last, column])
            add(features)
        for target in example.span_targets:
            add(target)
        add(example.weight)
    return digest.hexdigest()[:16]


def _fitted_on(settings: TrainingSettings, examples: Sequence[WindowExample]) -> dict[str, Any]:
    """What decides the weights a fit ends with: the settings and the windows themselves."""
    fitted = {k: v for k, v in asdict(settings).items() if k not in _NOT_FITTED_SETTINGS}
    return {**fitted, "examples": len(examples), "windows": _fingerprint(examples)}


def _check_same_run(checkpoint: Path, saved: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse to continue a checkpoint of another run: it would end with other weights."""
    changed = [
        f"{key} {saved.get(key)!r} -> {value!r}"
        for key, value in current.items()
        if key in saved and saved[key] != value
    ]
    if changed:
        raise PropscanError(
            f"{checkpoint}: written by a run with other settings or data ({', '.join(changed)}); "
            "resume with the same command, or train into a new --out directory"
        )


#: What a checkpoint holds besides its step (see :func:`fit`).
_CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "history", "torch_rng")


def _read_checkpoint(checkpoint: Path) -> dict[str, Any]:
    """The state saved in ``checkpoint``; one that cannot be read (a full disk, a copy cut
    short) is a clear error saying how to start the fit again, not a bug."""
    try:
        state = torch.load(checkpoint, weights_only=False, map_location="cpu")
        if not isinstance(state, dict) or not isinstance(state.get("step"), int):
            raise ValueError("no step")
        if any(key not in state for key in _CHECKPOINT_KEYS):
            raise ValueError("not what training saves")
    except OSError:
        raise  # unreadable for a reason the system gives (permissions): said as it is
    except Exception:  # torch says "damaged" in many ways, none of them for a person
        raise PropscanError(
            f"the checkpoint at {checkpoint} cannot be read: it is damaged or cut short (a "
            f"full disk, a copy that stopped half way); delete the folder {checkpoint.parent} "
            "to start this fit again"
        ) from None
    return state


def _restore(
    checkpoint: Path,
    model: TransformerNetwork,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LambdaLR,
    fitted_on: dict[str, Any],
) -> tuple[int, list[float], float]:
    """Step, loss history and seconds of fitting saved in ``checkpoint`` (zeros without one)."""
    if not checkpoint.exists():
        return 0, [], 0.0
    state = _read_checkpoint(checkpoint)
    # checkpoints written before ``fitted_on`` existed hold the settings alone
    _check_same_run(checkpoint, state.get("fitted_on", state.get("settings", {})), fitted_on)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return state["step"], state["history"], state.get("fit_seconds", 0.0)


def fit(
    model: TransformerNetwork,
    examples: list[WindowExample],
    special: dict[str, int],
    settings: TrainingSettings,
    out_dir: Path,
    progress: bool = True,
    device: str = "cpu",
    notify: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train with AdamW and linear warm-up/decay; resumes from ``out_dir/checkpoint``,
    telling ``notify`` from which step once the checkpoint is found to be this run's.

    ``device`` is where torch computes (``cuda`` on a GPU machine: the same recipe, much
    faster; the numbers differ from a CPU run's only by floating-point rounding). The
    model is back on the CPU when fitting ends.
    """
    from tqdm.auto import tqdm

    torch.manual_seed(settings.seed)
    model.to(device)
    optimizer = _optimizer(model, settings)
    steps_per_epoch = math.ceil(len(examples) / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    if settings.max_steps is not None:
        total_steps = min(total_steps, settings.max_steps)
    scheduler = linear_schedule(optimizer, total_steps, settings.warmup_fraction)
    checkpoint = checkpoint_path(out_dir)
    fitted_on = _fitted_on(settings, examples)
    step, history, earlier_seconds = _restore(checkpoint, model, optimizer, scheduler, fitted_on)
    if step and notify is not None:
        notify(f"Resuming training from step {step} of {total_steps} (checkpoint {checkpoint})")
    loss_of = _Loss(settings, special, examples, device)
    bar = tqdm(total=total_steps, initial=step, desc="training", disable=not progress, unit="step")
    started = time.monotonic()
    model.train()
    while step < total_steps:
        epoch, position = divmod(step, steps_per_epoch)
        order = _epoch_order(len(examples), settings.seed, epoch)
        batch = [
            examples[i]
            for i in order[position * settings.batch_size : (position + 1) * settings.batch_size]
        ]
        loss = loss_of(model, batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        history.append(round(loss.item(), 4))
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(history[-50:]):.3f}", epoch=epoch + 1)
        if step % settings.checkpoint_every == 0 or step == total_steps:
            _save_checkpoint(
                checkpoint,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": step,
                    "history": history,
                    "torch_rng": torch.get_rng_state(),
                    "cuda_rng": (
                        torch.cuda.get_rng_state_all() if device.startswith("cuda") else None
                    ),
                    "fit_seconds": earlier_seconds + time.monotonic() - started,
                    "settings": asdict(settings),
                    "fitted_on": fitted_on,
                },
            )
    bar.close()
    model.to("cpu")
    model.eval()
    return {
        "steps": step,
        "final_loss": float(np.mean(history[-50:])) if history else None,
        "fit_seconds": round(earlier_seconds + time.monotonic() - started, 1),
        "fit_seconds_before_resume": round(earlier_seconds, 1),
        "torch": torch_build(device),
    }


def torch_build(device: str) -> str:
    """torch's version and the kernels it chose: runs on CPUs with other vector units
    (AVX2 against AVX512) may end in weights that differ in their last bits."""
    kernels = (
        torch.cuda.get_device_name(device)
        if device.startswith("cuda")
        else f"CPU kernels {torch.backends.cpu.get_cpu_capability()}"
    )
    return f"torch {torch.__version__}, {kernels}"
