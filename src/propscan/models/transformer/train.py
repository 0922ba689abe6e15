"""Training the transformer detector, stage by stage (needs the ``train`` extra).

fit (:mod:`~.fitting`) → export to ONNX with the classical companion beside it → choose
decoding on the held-out part of train (:mod:`~.tuning`) → quantise to int8 when that
keeps held-out accuracy → by default, fit the same recipe again on every article and
export it with the settings chosen for the first. Each model directory gets its
``model.json`` once, when it is complete. The technique set is the training data's.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from propscan.core.spans import Annotations, Article
from propscan.core.techniques import TechniqueSet, technique_set
from propscan.errors import PropscanError
from propscan.models.base import read_model_config, techniques_of, write_model_config
from propscan.models.baseline.detector import BaselineDetector
from propscan.models.baseline.train import train_baseline
from propscan.models.decoding_settings import DecodingSettings
from propscan.models.registry import TrainingOptions, capped_articles, own_model_name
from propscan.models.transformer.detector import (
    COMPANION_DIR,
    ENCODER_FILE,
    KIND,
    MODEL_NAME,
    MODEL_VERSION,
    TransformerDetector,
)
from propscan.models.transformer.distillation import TeacherTargets, teacher_targets
from propscan.models.transformer.encoding import load_tokenizer, special_token_ids
from propscan.models.transformer.ensemble import load_ensemble
from propscan.models.transformer.examples import make_examples
from propscan.models.transformer.export import export_model
from propscan.models.transformer.fitting import fit
from propscan.models.transformer.network import TransformerNetwork, build_network
from propscan.models.transformer.quantization import quantize_dynamic_encoder
from propscan.models.transformer.recipe import (
    DEFAULT_ENCODER_NAME,
    TrainingSettings,
    default_encoder_dir,
    describe_encoder,
)
from propscan.models.transformer.tuning import (
    Encoded,
    bootstrap_scores,
    gold_span_techniques,
    predict,
    technique_hits,
    technique_shares,
    tune_decoding,
)
from propscan.ptc.scoring import score_tc
from propscan.ptc.splits import Split, held_out_ids

#: Sub-directory of a training run holding the model fitted without the validation part.
SELECTION_DIR = "selection"
#: Where the fp32 encoder of a run is exported (inside the model directory's checkpoint).
FP32_ENCODER = Path("checkpoint") / "encoder-fp32.onnx"


def choose_decoding(
    detector: TransformerDetector, validation: Sequence[Article], gold: Annotations
) -> dict[str, Any]:
    """Decoding chosen on held-out articles (key ``decoding``), with the scores it reached."""
    data = Encoded.of(detector, validation, gold)
    decoding, choices, calibration = tune_decoding(detector.decoder, data)
    chosen = detector.decoder.with_settings(decoding)
    labelled = gold_span_techniques(chosen, data)
    ids = [article.id for article in validation]
    scores = bootstrap_scores(
        data.gold, predict(chosen, data), technique_hits(data.gold, labelled), ids, samples=200
    )
    gold = data.gold.restrict(ids)
    tc_macro = score_tc(gold, labelled, detector.techniques).macro_f1 if len(gold) else 0.0
    return {
        "si_f1": round(scores["si"].value, 4),
        "tc_micro_f1": round(scores["tc"].value, 4),
        "tc_macro_f1": round(tc_macro, 4),
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
    #: PTC articles fitted on; meme texts are counted on the card's memes line.
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
    techniques: TechniqueSet,
    progress: bool,
    device: str = "cpu",
    teacher: Mapping[str, TeacherTargets] | None = None,
    notify: Callable[[str], None] | None = None,
) -> tuple[TransformerNetwork, dict[str, int], dict[str, Any]]:
    """Seed, build and fine-tune a model on ``articles`` (resumes from ``out/checkpoint``,
    telling ``notify`` so), with ``teacher``'s targets mixed in where given."""
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    import torch

    torch.manual_seed(settings.seed)
    tokenizer = load_tokenizer(encoder_dir)
    special = special_token_ids(tokenizer)
    examples = make_examples(tokenizer, articles, gold, settings, techniques, teacher)
    model = build_network(encoder_dir, len(techniques))
    return model, special, fit(model, examples, special, settings, out, progress, device, notify)


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
) -> TransformerDetector:
    """Export the fp32 encoder, heads and tokenizer (and train the companion) into ``out``;
    returns the exported model as it runs, for tuning (its ``model.json`` is not written)."""
    export_model(model, out / FP32_ENCODER, out, encoder_dir, config["special_tokens"])
    shutil.copy2(out / FP32_ENCODER, out / ENCODER_FILE)
    companion = None
    if settings.companion:
        companion = train_baseline(
            companion_articles,
            gold,
            seed=settings.seed,
            validation_fraction=companion_validation_fraction,
            techniques=technique_set(config["techniques"]),
            progress=progress,
        )
        companion.save(out / COMPANION_DIR)
    return TransformerDetector.assemble(out, config, companion)


def _quantized(
    out: Path, config: dict[str, Any], companion: BaselineDetector | None
) -> TransformerDetector:
    """The int8 version of an exported model, marked quantised so that its encoder calls
    hold the windows of one article only, as it will run."""
    quantize_dynamic_encoder(out / FP32_ENCODER, out / ENCODER_FILE)
    return TransformerDetector.assemble(out, {**config, "quantized": True}, companion)


def int8_keeps_accuracy(
    validation_fp32: dict[str, Any], validation_int8: dict[str, Any], tolerance: float
) -> bool:
    """Whether held-out SI and FLC F1 of the int8 encoder stay within ``tolerance`` of
    fp32's (the ``quantization_tolerance`` setting)."""
    return all(
        validation_fp32[key] - validation_int8[key] <= tolerance + 1e-9
        for key in ("si_f1", "flc_f1")
    )


def _quantize_if_it_keeps_accuracy(
    fp32: TransformerDetector,
    out: Path,
    config: dict[str, Any],
    validation: Sequence[Article],
    gold: Annotations,
    validation_fp32: dict[str, Any],
    tolerance: float,
) -> tuple[bool, dict[str, Any]]:
    """int8 when it keeps accuracy (:func:`int8_keeps_accuracy`), else fp32."""
    validation_int8 = choose_decoding(_quantized(out, config, fp32.companion), validation, gold)
    quantized = int8_keeps_accuracy(validation_fp32, validation_int8, tolerance)
    if not quantized:
        shutil.copy2(out / FP32_ENCODER, out / ENCODER_FILE)
    return quantized, validation_int8 if quantized else validation_fp32


def finish_model(
    out: Path, config: dict[str, Any], decoding: dict[str, Any], quantized: bool
) -> None:
    """Write ``model.json`` with the chosen decoding; drop the companion when it was given
    no share."""
    if decoding["companion_si_weight"] == 0.0 and decoding["companion_technique_weight"] == 0.0:
        shutil.rmtree(out / COMPANION_DIR, ignore_errors=True)
    write_model_config(out, {**config, "quantized": quantized, "decoding": decoding})


def split_articles(
    articles: Sequence[Article], settings: TrainingSettings
) -> tuple[list[Article], list[Article], list[Article]]:
    """Articles to fit on, held-out articles that choose decoding, and all of them."""
    held_out = held_out_ids(articles, settings.validation_fraction)  # PTC articles only
    train_articles = [a for a in articles if a.id not in held_out]
    validation = [a for a in articles if a.id in held_out]
    everything = list(articles)
    if settings.max_articles is not None:
        train_articles = capped_articles(train_articles, settings.max_articles)
        validation = validation[: max(1, settings.max_articles // 2)]
        everything = [*train_articles, *validation]
    if not train_articles or not validation:
        raise PropscanError("training needs articles both for fitting and for held-out tuning")
    return train_articles, validation, everything


def _teacher_targets(
    teachers: Sequence[str],
    articles: Sequence[Article],
    gold: Annotations,
    techniques: TechniqueSet,
) -> dict[str, TeacherTargets] | None:
    """The targets of the teacher model (several directories: their ensemble), if any."""
    if not teachers:
        return None
    teacher = (
        TransformerDetector.load(teachers[0]) if len(teachers) == 1 else load_ensemble(teachers)
    )
    if list(teacher.techniques) != list(techniques):
        raise PropscanError(
            f"the teacher's techniques ({len(teacher.techniques)}) are not the student's "
            f"({len(techniques)}); a teacher must be trained on the same technique set"
        )
    return teacher_targets(teacher, articles, gold)


def train_transformer(
    articles: Sequence[Article],
    gold: Annotations,
    out_dir: str | os.PathLike[str],
    *,
    techniques: TechniqueSet | None = None,
    encoder: str | os.PathLike[str] | None = None,
    settings: TrainingSettings | None = None,
    name: str = MODEL_NAME,
    version: str = MODEL_VERSION,
    progress: bool = True,
    device: str = "cpu",
    notify: Callable[[str], None] | None = None,
) -> TrainingReport:
    """Fine-tune, choose decoding on held-out train articles, export to ONNX in ``out_dir``.

    ``techniques`` is the model's label set (default: every label of ``gold``). With
    ``settings.refit`` (the default) the model chosen on the held-out part is kept in
    ``out_dir/selection`` and a second model with the same recipe is fitted on every
    article and exported to ``out_dir`` with the settings chosen for the first.
    ``device`` is where torch fits (see :func:`~.fitting.fit`). With
    ``settings.teachers``, their probabilities on every article are mixed into the
    targets (:mod:`~.distillation`). ``notify`` hears of a fit resumed from a checkpoint.
    """
    settings = settings or TrainingSettings()
    started = time.monotonic()
    encoder_dir = Path(encoder) if encoder is not None else default_encoder_dir()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_articles, validation, everything = split_articles(articles, settings)
    techniques = techniques or techniques_of(gold)
    teacher = _teacher_targets(settings.teachers, everything, gold, techniques)

    selection = out / SELECTION_DIR if settings.refit else out
    model, special, fit_report = fit_stage(
        train_articles,
        gold,
        selection,
        encoder_dir,
        settings,
        techniques,
        progress,
        device,
        teacher,
        notify,
    )
    config: dict[str, Any] = {
        "kind": KIND,
        "name": name,
        "version": version,
        "techniques": list(techniques),
        "special_tokens": special,
        "encoder": DEFAULT_ENCODER_NAME if encoder is None else encoder_dir.name,
        "windows_per_call": settings.windows_per_call,
        "decoding": DecodingSettings(
            window_tokens=settings.window_tokens,
            window_stride=settings.inference_window_stride,
            technique_prior=technique_shares(train_articles, gold, techniques),
        ).to_config(),
    }
    fp32 = export_stage(
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
    validation_fp32 = choose_decoding(fp32, validation, gold)
    quantized, validation_scores = False, validation_fp32
    if settings.quantize:
        quantized, validation_scores = _quantize_if_it_keeps_accuracy(
            fp32,
            selection,
            config,
            validation,
            gold,
            validation_fp32,
            settings.quantization_tolerance,
        )
    chosen = validation_scores["decoding"]
    finish_model(selection, config, chosen, quantized)

    fitted_on = train_articles
    selection_fit = None
    if settings.refit:
        selection_fit = fit_report
        fit_report = fit_chosen_recipe(
            everything,
            gold,
            out,
            encoder_dir,
            settings,
            config,
            chosen,
            quantized,
            progress,
            device,
            teacher,
            notify,
        )
        fitted_on = everything
    return TrainingReport(
        model_dir=out,
        settings=settings,
        decoding=DecodingSettings.from_config(chosen),
        validation=validation_scores,
        validation_fp32=validation_fp32,
        quantized=quantized,
        train_articles=sum(article.corpus is None for article in fitted_on),
        validation_articles=len(validation),
        seconds=round(time.monotonic() - started, 1),
        fit=fit_report,
        selection_fit=selection_fit,
    )


def fit_chosen_recipe(
    articles: Sequence[Article],
    gold: Annotations,
    out: Path,
    encoder_dir: Path,
    settings: TrainingSettings,
    config: dict[str, Any],
    decoding: dict[str, Any],
    quantized: bool,
    progress: bool,
    device: str = "cpu",
    teacher: Mapping[str, TeacherTargets] | None = None,
    notify: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit the recipe again on ``articles`` and export it into ``out`` with the decoding
    and precision an earlier fit chose on held-out articles (none are held out here);
    returns the fit's report."""
    techniques = technique_set(config["techniques"])
    model, _, fit_report = fit_stage(
        articles, gold, out, encoder_dir, settings, techniques, progress, device, teacher, notify
    )
    export_stage(model, config, articles, gold, out, encoder_dir, settings, 0.0, progress)
    if quantized:
        quantize_dynamic_encoder(out / FP32_ENCODER, out / ENCODER_FILE)
    finish_model(out, config, decoding, quantized)
    return fit_report


def report_as_dict(report: TrainingReport) -> dict[str, Any]:
    data = asdict(report)
    data["model_dir"] = str(report.model_dir)
    return json.loads(json.dumps(data, default=str))


DESCRIPTION = (
    "A fine-tuned transformer encoder with per-token propaganda, technique and sentence "
    "heads and a span classifier, exported to ONNX for onnxruntime inference, plus a "
    "classical companion whose probabilities are mixed in; spans are decoded into "
    "whole phrases with calibrated scores."
)


def _identity(options: TrainingOptions, out: Path) -> dict[str, str]:
    """What a card calls the model: its kind, the name and version asked for (by default
    its folder's name, never the shipped model's), what it is."""
    return {
        "kind": KIND,
        "name": options.name or own_model_name(out, MODEL_NAME),
        "version": options.version or MODEL_VERSION,
        "description": DESCRIPTION,
    }


def _check_teachers(teachers: Sequence[Path]) -> None:
    """Each teacher is a transformer model: another kind has no token probabilities to
    learn from, and would fail later in words about its missing files."""
    for path in teachers:
        kind = read_model_config(path).get("kind")
        if kind != KIND:
            what = f"a {kind} model" if isinstance(kind, str) else "a model of no known kind"
            raise PropscanError(
                f"--teacher {path} is {what}; a teacher must be a transformer model made by "
                "'propscan train' (--kind transformer)"
            )


def train_model(
    split: Split, out: Path, options: TrainingOptions, progress: bool = True
) -> dict[str, Any]:
    """Train on ``split`` into ``out``; returns the model card's facts (``TRAINERS`` entry)."""
    known = {field.name for field in fields(TrainingSettings)}
    unknown = sorted(set(options.settings) - known)
    if unknown:
        raise PropscanError(
            f"unknown training setting {unknown[0]!r}; the transformer's settings are: "
            + ", ".join(sorted(known))
        )
    if "teachers" in options.settings:
        raise PropscanError("give each teacher model with --teacher DIR, not as a setting")
    _check_teachers(options.teachers)
    settings = TrainingSettings(
        **{
            "epochs": options.epochs,
            "seed": options.seed,
            "max_steps": options.max_steps,
            "max_articles": options.max_articles,
            "quantize": options.quantize,
            "refit": options.refit,
            "teachers": tuple(str(path.resolve()) for path in options.teachers),
            **options.settings,
        }
    )
    recipe = {**asdict(settings), "encoder": describe_encoder(options.encoder)}
    if options.twin is not None:
        return _fitted_with_dev(split, out, options, settings, recipe, progress)
    identity = _identity(options, out)
    report = train_transformer(
        split.articles,
        split.gold,
        out,
        techniques=split.techniques,
        encoder=options.encoder,
        settings=settings,
        name=identity["name"],
        version=identity["version"],
        progress=progress,
        device=options.device,
        notify=options.notify,
    )
    return {
        **identity,
        "settings": recipe,
        "decoding": report.decoding.to_config(),
        "scores": {
            "validation": report.validation,
            "validation (fp32 before export)": report.validation_fp32,
        },
        "data": {
            "corpus": "PTC v2 (SemEval-2020 Task 11)",
            "train articles": report.train_articles,
            "validation articles": (
                f"{report.validation_articles} ({settings.validation_fraction:.0%} of train, held "
                "out by id hash) chose every decoding setting"
                + ("; the model was then fitted again on all of train" if settings.refit else "")
            ),
            **(
                {
                    "teacher": f"the ensemble of {len(settings.teachers)} models"
                    if len(settings.teachers) > 1
                    else "one model",
                    "teacher models": ", ".join(settings.teachers),
                }
                if settings.teachers
                else {}
            ),
        },
        "quantized": report.quantized,
        "fit": report_as_dict(report)["fit"],
        **({"selection_fit": report.selection_fit} if report.selection_fit else {}),
    }


#: Recipe settings that do not change what a run fits: a model fitted with dev may differ
#: from its twin in these.
_NOT_RECIPE = frozenset({"refit", "checkpoint_every"})


def recipe_differences(twin_settings: Mapping[str, Any], recipe: Mapping[str, Any]) -> list[str]:
    """The recipe settings in which a run differs from its twin's card, as ``name (run's
    value; twin's value)``; a twin trained by another propscan may lack a setting or have
    one this one lacks."""
    ours = json.loads(json.dumps(recipe, default=str))
    missing = "no such setting"

    def shown(settings: Mapping[str, Any], key: str) -> str:
        return repr(settings[key]) if key in settings else missing

    return [
        f"{key} ({shown(ours, key)}; {shown(twin_settings, key)})"
        for key in sorted(set(ours) | set(twin_settings))
        if key not in _NOT_RECIPE and shown(ours, key) != shown(twin_settings, key)
    ]


def _fitted_with_dev(
    split: Split,
    out: Path,
    options: TrainingOptions,
    settings: TrainingSettings,
    recipe: dict[str, Any],
    progress: bool,
) -> dict[str, Any]:
    """``propscan train --with-dev TWIN``: the twin's recipe fitted on ``split`` (train
    and dev), checked to be the twin's before anything is fitted.

    Once a recipe is fixed, a final model may learn from dev too; nothing is left to
    choose, so it takes the decoding and precision the twin (the same recipe fitted
    without dev) chose on held-out train, and the twin answers for it on dev: the card's
    scores are the twin's (:func:`propscan.training.train_with_card` adds them).
    """
    assert options.twin is not None
    if settings.max_articles is not None:
        raise PropscanError("--with-dev fits on every train and dev article; drop --max-articles")
    card = options.twin / "training.json"
    try:
        twin_settings = json.loads(card.read_text(encoding="utf-8"))["settings"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PropscanError(
            f"--with-dev {options.twin}: no readable training card ({card}: {error}); give "
            "a model directory written by 'propscan train'"
        ) from None
    differences = recipe_differences(twin_settings, recipe)
    if differences:
        raise PropscanError(
            f"--with-dev {options.twin}: this command's recipe is not the twin's, it differs "
            f"in {'; '.join(differences)}; run the twin's own training command with --with-dev"
        )
    twin_config = read_model_config(options.twin)
    if twin_config.get("kind") != KIND:
        raise PropscanError(f"--with-dev {options.twin}: not a {KIND} model")
    config = {
        key: value
        for key, value in twin_config.items()
        if key not in ("format_version", "decoding", "quantized")
    }
    identity = _identity(options, out)
    config.update(name=identity["name"], version=identity["version"])
    encoder_dir = options.encoder or default_encoder_dir()
    if special_token_ids(load_tokenizer(encoder_dir)) != config["special_tokens"]:
        raise PropscanError(
            f"--with-dev {options.twin}: the encoder {encoder_dir} is not the one it was "
            "trained from (other special tokens); give its --encoder"
        )
    out.mkdir(parents=True, exist_ok=True)
    techniques = technique_set(config["techniques"])
    fit_report = fit_chosen_recipe(
        split.articles,
        split.gold,
        out,
        encoder_dir,
        settings,
        config,
        twin_config["decoding"],
        bool(twin_config.get("quantized")),
        progress,
        options.device,
        _teacher_targets(settings.teachers, split.articles, split.gold, techniques),
        options.notify,
    )
    config = read_model_config(out)
    return {
        **identity,
        "settings": recipe,
        "decoding": config["decoding"],
        "scores": {},
        "data": {
            "corpus": "PTC v2 (SemEval-2020 Task 11)",
            "train articles": sum(article.corpus is None for article in split.articles),
        },
        "quantized": config["quantized"],
        "fit": json.loads(json.dumps(fit_report, default=str)),
    }
