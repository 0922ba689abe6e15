"""One row of the ablation table: a recipe or decoding variant, scored honestly.

    python benchmarks/ablation.py --variant NAME --model DIR [--fixed KEY=VALUE ...]
    python benchmarks/ablation.py --variant NAME --train-out DIR [--train KEY=VALUE ...]
                                  [--encoder HF_MODEL_DIR] [--memes DIR [--meme-split S ...]
                                  [--unmapped drop|unlabelled]] [--device cuda]
    python benchmarks/ablation.py --model DIR --decoding-variant NAME KEY=VALUE ... [...]
    python benchmarks/ablation.py --variant NAME --model FP32_DIR --int8

With ``--train`` settings (any field of ``TrainingSettings``, e.g. ``epochs=1`` or
``max_steps=60`` for fast screening) a model is trained first; otherwise the given model
is re-tuned (``--memes`` adds the SemEval-2021 meme texts to the fitting articles, never to
the held-out ones; ``--device cuda`` fits on a GPU); each ``--decoding-variant`` re-tunes
the same model with its settings held and adds a row of its own (the encoder runs once for
all of them). ``--int8`` scores a model whose training kept its encoder in fp32 as it would
ship: a copy with the encoder quantised as training quantises. Decoding is chosen on the
validation part of train with ``--fixed`` settings held (e.g. ``merge_gap=-1`` switches
merging off); validation scores come with a 95% bootstrap interval over articles, dev
scores are reported only. Appends a row to ``benchmarks/results/ablations.md`` (and
``ablations.jsonl``) and keeps every earlier row, negative results included.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import tempfile
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
HEADER = (
    "| variant | validation SI F1 [95% CI] | validation TC [95% CI] | validation FLC F1 [95% CI] "
    "| dev SI F1 | dev TC | dev FLC F1 | training min | settings at a grid edge |\n"
    "|---|---|---|---|---|---|---|---|---|\n"
)


def _pairs(items: list[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            parsed[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            # "false" holds a yes-or-no setting off, where the string "false" would be true
            parsed[key] = {"true": True, "false": False}.get(value.lower(), value)
    return parsed


def _append(out: Path, row: dict[str, Any], cells: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    table = out / "ablations.md"
    if not table.exists():
        table.write_text(
            "# Ablations\n\nEach row: `python benchmarks/ablation.py ...` (arguments in "
            "`ablations.jsonl`). Validation = the held-out part of train that chose every "
            "setting (95% bootstrap interval over articles); dev is reported only.\n\n" + HEADER,
            encoding="utf-8",
        )
    with (out / "ablations.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(row, default=str) + "\n")
    # the row joins the end of the table, above the paragraphs that discuss the rows
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    end = lines.index(HEADER.splitlines(keepends=True)[0]) + 2
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    lines.insert(end, cells)
    table.write_text("".join(lines), encoding="utf-8")


def _flc_by_technique(gold, predicted, techniques) -> dict[str, float]:
    """FLC F1 of each technique: the rare ones are what the table is read for."""
    from propscan.ptc.scoring import score_flc

    scores = score_flc(gold.restrict(predicted.spans), predicted, techniques)
    return {technique: round(prf.f1, 4) for technique, prf in scores.per_technique.items()}


def _tc_macro(gold, labelled, techniques) -> float:
    """TC macro-F1: every technique weighs the same, however rare."""
    from propscan.ptc.scoring import score_tc

    return round(score_tc(gold.restrict(labelled.spans), labelled, techniques).macro_f1, 4)


def _row_from_card(variant: str, model_dir: Path, out: Path) -> None:
    """A row from the card of a ``propscan train`` run: validation scores of the model that
    chose the decoding, dev scores of the model in ``model_dir`` (refitted on all of train
    when the recipe refits; dev is never fitted on)."""
    facts = json.loads((model_dir / "training.json").read_text(encoding="utf-8"))
    validation = facts["scores"]["validation"]
    intervals = validation["intervals (95%, bootstrap over articles)"]
    dev = facts["scores"]["dev"]
    keys = {"si": "si_f1", "tc": "tc_micro_f1", "flc": "flc_f1"}
    cell = {
        task: f"{validation[key]:.3f} [{intervals[task][0]:.3f}, {intervals[task][1]:.3f}]"
        for task, key in keys.items()
    }
    minutes = round(facts.get("training_seconds", 0) / 60, 1)
    edges = validation.get("choices at a grid edge") or []
    row = {
        "variant": variant,
        "model": str(model_dir),
        "from_card": True,
        "validation": {task: validation[key] for task, key in keys.items()},
        "intervals": intervals,
        "dev": {task: dev[key] for task, key in keys.items()},
        "training_minutes": minutes,
        "settings": facts.get("settings"),
        "data": facts.get("data"),
        "decoding": facts.get("decoding"),
    }
    _append(
        out,
        row,
        f"| {variant} | {cell['si']} | {cell['tc']} | {cell['flc']} | {dev['si_f1']:.3f} "
        f"| {dev['tc_micro_f1']:.3f} | {dev['flc_f1']:.3f} | {minutes} "
        f"| {', '.join(edges) or 'none'} |\n",
    )
    print(json.dumps(row, default=str))


def _int8_copy(model_dir: Path, into: Path) -> Path:
    """A copy of the fp32 model in ``model_dir`` whose encoder is quantised to int8 the way
    ``propscan train`` quantises (per-channel dynamic, word table as int8 rows)."""
    from propscan.models.base import read_model_config, write_model_config
    from propscan.models.transformer.detector import ENCODER_FILE
    from propscan.models.transformer.quantization import quantize_dynamic_encoder

    config = read_model_config(model_dir)
    if config.get("quantized"):
        raise SystemExit(f"{model_dir}: its encoder is int8 already; --int8 needs an fp32 one")
    copy = into / model_dir.name
    shutil.copytree(model_dir, copy, ignore=shutil.ignore_patterns("checkpoint", ENCODER_FILE))
    quantize_dynamic_encoder(model_dir / ENCODER_FILE, copy / ENCODER_FILE)
    write_model_config(copy, {**config, "quantized": True})
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", help="short description of the row")
    parser.add_argument(
        "--decoding-variant",
        nargs="+",
        action="append",
        default=[],
        metavar="NAME [KEY=VALUE ...]",
        help="a further row: the same model with these decoding settings held",
    )
    parser.add_argument(
        "--model",
        type=Path,
        nargs="+",
        help="a trained model directory to re-tune (several: their ensemble, tuned as one)",
    )
    parser.add_argument("--train-out", type=Path, help="train a model into this directory")
    parser.add_argument("--train", nargs="*", default=[], help="TrainingSettings KEY=VALUE")
    parser.add_argument(
        "--encoder", type=Path, help="Hugging Face model directory to train from (default: MiniLM)"
    )
    parser.add_argument("--fixed", nargs="*", default=[], help="decoding KEY=VALUE to hold")
    parser.add_argument(
        "--validation-fraction",
        type=float,
        help="held-out share of train (default: the model's training setting)",
    )
    parser.add_argument("--data", default=None, help="the PTC corpus (train and dev)")
    parser.add_argument(
        "--memes",
        type=Path,
        help="also fit on this SemEval-2021 Task 6 meme corpus (never held out)",
    )
    parser.add_argument(
        "--meme-split",
        action="append",
        default=[],
        help="meme splits to fit on (repeat; default: train)",
    )
    parser.add_argument(
        "--unmapped",
        default="drop",
        choices=("drop", "unlabelled"),
        help="meme spans of techniques outside the 14",
    )
    parser.add_argument("--device", default="cpu", help="where torch fits: cpu or cuda")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--from-card",
        type=Path,
        metavar="MODEL_DIR",
        help="add the row of a model made by 'propscan train' from its card (training.json): "
        "validation = its selection model, dev = the model in MODEL_DIR",
    )
    parser.add_argument(
        "--write-settings", action="store_true", help="store the chosen decoding in the model"
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="score a copy of the fp32 --model with its encoder quantised as training does",
    )
    args = parser.parse_args()
    if args.from_card is not None:
        if not args.variant:
            parser.error("--from-card needs --variant")
        _row_from_card(args.variant, args.from_card, args.out)
        return

    from propscan.models.base import read_model_config, write_model_config
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.ensemble import load_ensemble
    from propscan.models.transformer.tuning import (
        Encoded,
        bootstrap_scores,
        decoder_with_prior,
        flc_intervals,
        gold_span_techniques,
        predict,
        technique_hits,
        tune_decoding,
    )
    from propscan.ptc.splits import held_out_ids, load_combined_split, load_split, resolve_data_dir

    corpora = [resolve_data_dir(args.data), *([args.memes] if args.memes else [])]
    train = load_combined_split(
        corpora, "train", unmapped=args.unmapped, meme_splits=args.meme_split or ["train"]
    )
    minutes = None
    if args.int8 and args.model is None:
        parser.error("--int8 needs --model")
    if args.train_out is not None:
        from propscan.models.transformer.recipe import TrainingSettings
        from propscan.models.transformer.train import train_transformer

        known = {f.name for f in fields(TrainingSettings)}
        overrides = _pairs(args.train)
        unknown = set(overrides) - known
        if unknown:
            parser.error(f"unknown training settings {sorted(unknown)}")
        started = time.monotonic()
        report = train_transformer(
            train.articles,
            train.gold,
            args.train_out,
            techniques=train.techniques,
            encoder=args.encoder,
            settings=TrainingSettings(**overrides),
            device=args.device,
        )
        minutes = round((time.monotonic() - started) / 60, 1)
        model_dir = args.train_out
        fraction = report.settings.validation_fraction
    elif args.model is not None:
        if args.int8:
            if len(args.model) > 1 or args.write_settings:
                parser.error("--int8 needs a single --model and no --write-settings")
            quantised = Path(tempfile.mkdtemp(prefix="propscan-int8-"))
            model_dir = _int8_copy(args.model[0], quantised)
        else:
            model_dir = args.model[0]
        cards = [path / "training.json" for path in args.model]
        facts = [json.loads(card.read_text()) if card.is_file() else {} for card in cards]
        # models from before the setting existed held out 10%
        fractions = {
            fact.get("settings", {"validation_fraction": 0.25}).get("validation_fraction", 0.1)
            for fact in facts
        }
        if len(fractions) > 1:
            parser.error(f"the models held out different shares of train: {sorted(fractions)}")
        fraction = fractions.pop()
        minutes = round(sum(fact.get("training_seconds", 0) for fact in facts) / 60, 1) or None
    else:
        parser.error("give --model or --train-out")
    fraction = args.validation_fraction if args.validation_fraction is not None else fraction

    if args.model is not None and len(args.model) > 1:
        if args.write_settings:
            parser.error("--write-settings needs a single --model")
        detector = load_ensemble(args.model)
    else:  # the int8 copy of --model when --int8
        detector = TransformerDetector.load(model_dir)
    held_out = held_out_ids(train.articles, fraction)
    validation = [a for a in train.articles if a.id in held_out]
    fitted_on = [a for a in train.articles if a.id not in held_out]
    decoder = decoder_with_prior(detector.decoder, fitted_on, train.gold)
    data = Encoded.of(detector, validation, train.gold)
    dev = load_split(args.data, "dev")
    dev_data = Encoded.of(detector, dev.articles, dev.gold)
    variants = [(args.variant, _pairs(args.fixed))] if args.variant else []
    variants += [(name, _pairs(items)) for name, *items in args.decoding_variant]
    if not variants:
        parser.error("give --variant or at least one --decoding-variant")
    for name, fixed in variants:
        settings, choices, calibration = tune_decoding(decoder, data, fixed)
        chosen_decoder = decoder.with_settings(settings)
        validation_spans = predict(chosen_decoder, data)
        validation_labels = gold_span_techniques(chosen_decoder, data)
        scores = bootstrap_scores(
            data.gold,
            validation_spans,
            technique_hits(data.gold, validation_labels),
            [a.id for a in validation],
        )
        dev_spans = predict(chosen_decoder, dev_data)
        dev_labels = gold_span_techniques(chosen_decoder, dev_data)
        dev_scores = {
            key: value.value
            for key, value in bootstrap_scores(
                dev_data.gold,
                dev_spans,
                technique_hits(dev_data.gold, dev_labels),
                [a.id for a in dev.articles],
                samples=1,
            ).items()
        }
        edges = [f"{c.setting}={c.value}" for c in choices if c.at_edge]
        row = {
            "variant": name,
            "model": str(model_dir if args.model is None else args.model[0])
            if args.model is None or len(args.model) < 2
            else [str(path) for path in args.model],
            "int8_copy": args.int8,
            "validation_articles": len(validation),
            "validation": {k: vars(v) for k, v in scores.items()},
            "dev": dev_scores,
            "tc_macro_f1": {
                "validation": _tc_macro(data.gold, validation_labels, detector.techniques),
                "dev": _tc_macro(dev_data.gold, dev_labels, detector.techniques),
            },
            "flc_by_technique": {
                "validation": _flc_by_technique(data.gold, validation_spans, detector.techniques),
                "dev": _flc_by_technique(dev_data.gold, dev_spans, detector.techniques),
            },
            "flc_by_technique_validation_95": {
                technique: [round(low, 4), round(high, 4)]
                for technique, (low, high) in flc_intervals(
                    data.gold, validation_spans, [a.id for a in validation], detector.techniques
                ).items()
            },
            "training_minutes": minutes,
            "decoding": settings.to_config(),
            "choices": [vars(c) | {"grid": list(c.grid), "at_edge": c.at_edge} for c in choices],
            "calibration": calibration,
            "fixed": fixed,
            "train": _pairs(args.train),
            "memes": None
            if args.memes is None
            else {"splits": args.meme_split or ["train"], "unmapped": args.unmapped},
            "device": args.device,
            "encoder": None if args.encoder is None else str(args.encoder),
        }
        _append(
            args.out,
            row,
            f"| {name} | {scores['si']} | {scores['tc']} | {scores['flc']} "
            f"| {dev_scores['si']:.3f} | {dev_scores['tc']:.3f} "
            f"| {dev_scores['flc']:.3f} | {minutes if minutes is not None else ''} "
            f"| {', '.join(edges) or 'none'} |\n",
        )
        print(json.dumps(row, default=str))
        chosen = settings
    if args.int8:
        shutil.rmtree(model_dir.parent)
    if args.write_settings:
        config = read_model_config(model_dir)
        config["decoding"] = chosen.to_config()
        write_model_config(model_dir, {k: v for k, v in config.items() if k != "format_version"})


if __name__ == "__main__":
    main()
