"""Static vs dynamic int8 encoders of one trained model: speed on dev, accuracy on validation.

    python benchmarks/quantization.py --model DIR [--methods minmax,percentile,entropy]
        [--threads 2] [--rounds 2] [--no-options] [--no-strides]

``DIR`` holds ``checkpoint/encoder-fp32.onnx`` (written by ``propscan train``). Builds an
fp32 model, the dynamic per-channel int8 encoder training ships today, and static QDQ
encoders (per-channel weights, activations calibrated on train windows outside the
validation part) for each calibration method, with and without onnxruntime's
pre-processing. For each: dev articles/s through ``analyze_many`` (static models with
windows batched and one window per call; variants interleaved, best of ``--rounds``),
and SI/TC/FLC F1 on the validation part of train with one decoding for all (tuned on
the fp32 encoder there, or read from ``--decoding MODEL.json``; ``--retune`` also re-tunes
it for each variant). Then, for the chosen static model: that batching leaves
every article's outputs unchanged, onnxruntime session settings, and the window stride.
Writes ``benchmarks/results/quantization.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results"
#: A variant is kept only within this many F1 points of fp32 on validation.
TOLERANCE = 0.005


class TimedEncoder:
    """Wraps an encoder function to add up its seconds and the tokens it encoded."""

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        self.seconds = 0.0
        self.tokens = 0

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> Any:
        started = time.perf_counter()
        outputs = self.encoder(ids, mask)
        self.seconds += time.perf_counter() - started
        self.tokens += int(mask.sum())
        return outputs


def build_variants(
    model: Path,
    work: Path,
    methods: list[str],
    calibration: list[str],
    preprocess_variant: bool = True,
) -> dict:
    from propscan.models.base import read_model_config, write_model_config
    from propscan.models.transformer.quantization import (
        FP32_ENCODER,
        StaticSettings,
        quantize_dynamic_encoder,
        quantize_model,
    )

    def plain_copy(name: str) -> Path:
        target = work / name
        shutil.copytree(model, target, ignore=shutil.ignore_patterns("checkpoint"))
        config = read_model_config(target)
        for key in ("format_version", "quantization", "windows_per_call"):
            config.pop(key, None)
        write_model_config(target, config)
        return target

    variants: dict[str, dict[str, Any]] = {}

    def built(name: str) -> bool:
        """A variant left complete in ``work`` by an earlier run is reused."""
        if (work / name / "model.json").is_file() and (work / name / "encoder.onnx").is_file():
            variants[name] = {"dir": work / name, "build_seconds": None}
            return True
        shutil.rmtree(work / name, ignore_errors=True)
        return False

    if not built("fp32"):
        fp32 = plain_copy("fp32")
        shutil.copy2(model / FP32_ENCODER, fp32 / "encoder.onnx")
        variants["fp32"] = {"dir": fp32, "build_seconds": 0.0}
    started = time.perf_counter()
    if not built("dynamic"):
        dynamic = plain_copy("dynamic")
        quantize_dynamic_encoder(model / FP32_ENCODER, dynamic / "encoder.onnx")
        variants["dynamic"] = {"dir": dynamic, "build_seconds": time.perf_counter() - started}
    # Pre-processing and quantised attention products are compared on the first method.
    plans = [(f"static-{method}", StaticSettings(method=method)) for method in methods]
    plans.insert(
        1, (f"static-{methods[0]}-weights-only", StaticSettings(method=methods[0], attention=False))
    )
    if preprocess_variant:
        plans.append(
            (
                f"static-{methods[0]}-no-preprocess",
                StaticSettings(method=methods[0], preprocess=False),
            )
        )
    for name, settings in plans:
        if built(name):
            continue
        started = time.perf_counter()
        target = quantize_model(model, work / name, calibration, settings)
        variants[name] = {"dir": target, "build_seconds": time.perf_counter() - started}
        print(f"built {name} in {variants[name]['build_seconds']:.0f} s", flush=True)
    for variant in variants.values():
        variant["encoder_mb"] = round((variant["dir"] / "encoder.onnx").stat().st_size / 1e6, 1)
    return variants


def validation_scores(detector: Any, data: Any, fixed: Any = None) -> tuple[dict, Any]:
    """SI/TC/FLC F1 on validation: decoding re-tuned, or the given settings kept."""
    from propscan.models.transformer.tuning import (
        bootstrap_scores,
        predict,
        technique_hits,
        tune_decoding,
    )

    settings = fixed if fixed is not None else tune_decoding(detector, data)[0]
    predicted = predict(detector, data, settings)
    scores = bootstrap_scores(
        data.gold,
        predicted,
        technique_hits(detector, data),
        [article.id for article in data.articles],
        samples=200,
    )
    return {key: round(value.value, 4) for key, value in scores.items()} | {
        f"{key}_interval": [round(value.low, 4), round(value.high, 4)]
        for key, value in scores.items()
    }, settings


def time_analyze(detectors: dict[str, Any], texts: list[str], rounds: int) -> dict[str, dict]:
    """Best of ``rounds`` interleaved passes of ``analyze_many`` per detector."""
    from propscan.pipeline import analyze_many

    best: dict[str, dict] = {}
    for detector in detectors.values():
        analyze_many(texts[:2], detector)  # warm-up
    for _ in range(rounds):
        for name, detector in detectors.items():
            timer = detector.encoder = TimedEncoder(detector.encoder.encoder)
            started = time.perf_counter()
            analyze_many(texts, detector)
            seconds = time.perf_counter() - started
            if name not in best or seconds < best[name]["seconds"]:
                best[name] = {
                    "seconds": round(seconds, 3),
                    "articles_per_second": round(len(texts) / seconds, 2),
                    "encoder_share": round(timer.seconds / seconds, 3),
                    "encoder_tokens_per_second": round(timer.tokens / timer.seconds),
                }
    return best


def batching_difference(detector: Any, texts: list[str]) -> float:
    """Largest |difference| in any output of an article encoded alone vs with the others."""
    together = detector.encode(texts)
    worst = 0.0
    for text, batched in zip(texts, together, strict=True):
        (alone,) = detector.encode([text])
        for name in ("si_prob", "technique_prob", "hidden"):
            worst = max(worst, float(np.abs(getattr(batched, name) - getattr(alone, name)).max()))
    return worst


def session_options(directory: Path, texts: list[str], threads: int, rounds: int) -> list[dict]:
    """Encoder seconds over dev for onnxruntime settings, one changed at a time."""
    import onnxruntime as ort

    from propscan.models.transformer.detector import TransformerDetector

    level = ort.GraphOptimizationLevel
    base = {
        "threads": threads,
        "optimization": "all",
        "memory_arena": True,
        "execution": "sequential",
    }
    grid = [
        base,
        {**base, "threads": 1},
        {**base, "optimization": "basic"},
        {**base, "optimization": "extended"},
        {**base, "optimization": "disabled"},
        {**base, "memory_arena": False},
        {**base, "execution": "parallel"},
    ]
    levels = {
        "disabled": level.ORT_DISABLE_ALL,
        "basic": level.ORT_ENABLE_BASIC,
        "extended": level.ORT_ENABLE_EXTENDED,
        "all": level.ORT_ENABLE_ALL,
    }
    reference = TransformerDetector.load(directory, threads=threads)
    detectors = []
    for row in grid:
        options = ort.SessionOptions()
        options.intra_op_num_threads = row["threads"]
        options.inter_op_num_threads = 1
        options.graph_optimization_level = levels[row["optimization"]]
        options.enable_cpu_mem_arena = row["memory_arena"]
        options.execution_mode = (
            ort.ExecutionMode.ORT_PARALLEL
            if row["execution"] == "parallel"
            else ort.ExecutionMode.ORT_SEQUENTIAL
        )
        session = ort.InferenceSession(
            str(directory / "encoder.onnx"), options, providers=["CPUExecutionProvider"]
        )

        names = ["si_logits", "technique_logits", "hidden"]
        if "sentence_logits" in {output.name for output in session.get_outputs()}:
            names.append("sentence_logits")

        def run(
            ids: np.ndarray, mask: np.ndarray, session: Any = session, names: Any = names
        ) -> Any:
            outputs = session.run(names, {"input_ids": ids, "attention_mask": mask})
            return outputs[0], outputs[1], outputs[2], outputs[3] if len(outputs) > 3 else None

        detector = TransformerDetector(
            reference.tokenizer, TimedEncoder(run), reference.span_head, reference.config
        )
        detectors.append((row, detector))
    seconds = [float("inf")] * len(grid)
    for _ in range(rounds):
        for i, (_, detector) in enumerate(detectors):
            detector.encoder = TimedEncoder(detector.encoder.encoder)
            detector.encode(texts)
            seconds[i] = min(seconds[i], detector.encoder.seconds)
    return [
        {**row, "encoder_seconds": round(s, 2), "relative": round(s / seconds[0], 3)}
        for (row, _), s in zip(detectors, seconds, strict=True)
    ]


def strides(
    directory: Path, dev: list[str], data_articles: Any, gold: Any, rounds: int, fixed: Any
) -> list[dict]:
    """Tokens encoded per article token, dev speed and validation F1 for window strides."""
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.encoding import make_windows, tokenize
    from propscan.models.transformer.tuning import encode

    rows = []
    detector = TransformerDetector.load(directory)
    lengths = [len(t) for t in tokenize(detector.tokenizer, dev)]
    size = detector.settings.window_tokens
    for stride in (192, 224, size):
        detector.settings = replace(fixed, window_stride=stride)
        encoded = sum(
            w.end - w.start for n in lengths for w in make_windows(n, size, stride)
        ) / sum(lengths)
        seconds = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            detector.encode(dev)
            seconds = min(seconds, time.perf_counter() - started)
        data = encode(detector, data_articles, gold)
        scores, _ = validation_scores(detector, data, detector.settings)
        rows.append(
            {
                "window_tokens": size,
                "window_stride": stride,
                "encoded_per_article_token": round(encoded, 3),
                "dev_encode_seconds": round(seconds, 2),
                **{k: scores[k] for k in ("si", "tc", "flc")},
            }
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", default=None)
    parser.add_argument("--methods", default="minmax,percentile,entropy")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="where variants are built")
    parser.add_argument("--no-options", action="store_true", help="skip session settings")
    parser.add_argument("--no-strides", action="store_true", help="skip the window strides")
    parser.add_argument(
        "--no-preprocess-variant",
        action="store_true",
        help="skip the variant without onnxruntime's pre-processing",
    )
    parser.add_argument(
        "--articles", type=int, default=None, help="at most this many validation and dev articles"
    )
    parser.add_argument(
        "--decoding", type=Path, default=None, help="model.json whose decoding every variant uses"
    )
    parser.add_argument("--retune", action="store_true", help="also re-tune per variant (slow)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    os.environ["PROPSCAN_THREADS"] = str(args.threads)

    from propscan.models.decoding import DecodingSettings
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.tuning import encode, tune_decoding
    from propscan.ptc.splits import load_split, validation_ids

    training = args.model / "training.json"
    settings = json.loads(training.read_text())["settings"] if training.is_file() else {}
    fraction = float(settings.get("validation_fraction", 0.25))
    train = load_split(args.data, "train")
    held_out = validation_ids((a.id for a in train.articles), fraction)
    validation = [a for a in train.articles if a.id in held_out]
    calibration = [a.text for a in train.articles if a.id not in held_out]
    dev = [a.text for a in load_split(args.data, "dev").articles]
    if args.articles:
        validation, dev = validation[: args.articles], dev[: args.articles]

    work = args.work or Path(tempfile.mkdtemp(prefix="propscan-quantization-"))
    work.mkdir(parents=True, exist_ok=True)
    variants = build_variants(
        args.model, work, args.methods.split(","), calibration, not args.no_preprocess_variant
    )

    fixed = None
    if args.decoding:
        stored = json.loads(args.decoding.read_text())["decoding"]
        fixed = DecodingSettings.from_config(stored, where=str(args.decoding))
    for name, variant in variants.items():
        detector = TransformerDetector.load(variant["dir"], threads=args.threads)
        started = time.perf_counter()
        data = encode(detector, validation, train.gold)
        variant["validation_encode_seconds"] = round(time.perf_counter() - started, 2)
        if fixed is None:  # fp32 comes first
            fixed = tune_decoding(detector, data)[0]
        variant["scores"], _ = validation_scores(detector, data, fixed)
        if args.retune:
            variant["retuned"], _ = validation_scores(detector, data)
        print(name, variant["scores"], flush=True)
        partial = {n: {k: v for k, v in x.items() if k != "dir"} for n, x in variants.items()}
        (work / "partial.json").write_text(json.dumps(partial, indent=1, default=str))

    detectors: dict[str, Any] = {}
    for name, variant in variants.items():
        detector = TransformerDetector.load(variant["dir"], threads=args.threads)
        detector.encoder = TimedEncoder(detector.encoder)
        detectors[name] = detector
        if detector.windows_per_call > 1:
            single = TransformerDetector.load(variant["dir"], threads=args.threads)
            single.windows_per_call = 1
            single.encoder = TimedEncoder(single.encoder)
            detectors[f"{name} (1 window per call)"] = single
    speed = time_analyze(detectors, dev, args.rounds)
    print(json.dumps(speed, indent=1), flush=True)
    (work / "partial-speed.json").write_text(json.dumps(speed, indent=1))

    reference = variants["fp32"]["scores"]
    eligible = [
        name
        for name, variant in variants.items()
        if name.startswith("static")
        and all(reference[k] - variant["scores"][k] <= TOLERANCE for k in ("si", "flc"))
    ]
    chosen = max(eligible, key=lambda n: speed[n]["articles_per_second"]) if eligible else None
    results: dict[str, Any] = {
        "model": str(args.model),
        "validation_articles": len(validation),
        "dev_articles": len(dev),
        "validation_fraction": fraction,
        "variants": {
            name: {k: v for k, v in variant.items() if k != "dir"}
            for name, variant in variants.items()
        },
        "dev_speed": speed,
        "decoding": fixed.to_config(),
        "decoding_from": str(args.decoding) if args.decoding else "tuned on fp32, validation",
        "chosen": chosen,
    }
    if chosen:
        directory = variants[chosen]["dir"]
        batched = TransformerDetector.load(directory, threads=args.threads)
        results["batching_max_difference"] = batching_difference(batched, dev[:12])
        if not args.no_options:
            results["session_options"] = session_options(directory, dev, args.threads, 2)
        if not args.no_strides:
            results["strides"] = strides(directory, dev, validation, train.gold, 1, fixed)
    results["setup"] = {
        "threads": args.threads,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "onnxruntime": __import__("onnxruntime").__version__,
        "work": str(work),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quantization.json").write_text(
        json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8"
    )
    markdown = render(results, args)
    (args.out / "quantization.md").write_text(markdown, encoding="utf-8")
    print(markdown)


def render(results: dict, args: argparse.Namespace) -> str:
    lines = [
        "# Encoder quantisation: speed on dev, accuracy on validation",
        "",
        f"`python benchmarks/quantization.py --model {args.model}` "
        f"({args.threads} threads, {results['setup']['machine']}, onnxruntime "
        f"{results['setup']['onnxruntime']}). F1 on the {results['validation_articles']} "
        f"validation articles of train (fraction {results['validation_fraction']}), 95% "
        "bootstrap intervals over articles; speed is `analyze_many` over "
        f"{results['dev_articles']} dev articles, best of {args.rounds} interleaved rounds. "
        f"Decoding: {results['decoding_from']}.",
        "",
        "| encoder | MB | dev articles/s | encoder share | encoder tokens/s "
        "| SI F1 | TC | FLC F1 | SI / TC / FLC re-tuned |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, variant in results["variants"].items():
        kept, tuned = variant["scores"], variant.get("retuned")
        names = [n for n in results["dev_speed"] if n == name or n.startswith(name + " (")]
        for i, speed_name in enumerate(names):
            speed = results["dev_speed"][speed_name]
            retuned = (
                f"{tuned['si']:.4f} / {tuned['tc']:.4f} / {tuned['flc']:.4f}" if tuned else "-"
            )
            scores = (
                f"{kept['si']:.4f} {kept['si_interval']} | {kept['tc']:.4f} "
                f"| {kept['flc']:.4f} {kept['flc_interval']} | {retuned}"
                if i == 0
                else "same | same | same | same"
            )
            lines.append(
                f"| {speed_name} | {variant['encoder_mb']} | {speed['articles_per_second']} "
                f"| {speed['encoder_share']:.0%} | {speed['encoder_tokens_per_second']:,} "
                f"| {scores} |"
            )
    fp32 = results["dev_speed"]["fp32"]["articles_per_second"]
    lines += [
        "",
        f"Chosen: **{results['chosen']}** (fastest static encoder within "
        f"{TOLERANCE * 100:.1f} F1 points of fp32 on SI and FLC).",
    ]
    if results["chosen"]:
        chosen = results["dev_speed"][results["chosen"]]["articles_per_second"]
        lines.append(f"Speed-up over fp32 onnxruntime: {chosen / fp32:.2f}x.")
        lines += [
            "",
            "Batching check: largest difference in any output of 12 dev articles encoded "
            f"alone vs together: {results['batching_max_difference']:.2e}.",
        ]
    if results.get("session_options"):
        lines += [
            "",
            "## onnxruntime session settings (chosen encoder, encoder seconds over dev)",
            "",
            "| threads | graph optimisation | memory arena | execution | seconds | relative |",
            "|---|---|---|---|---|---|",
        ]
        for row in results["session_options"]:
            lines.append(
                f"| {row['threads']} | {row['optimization']} | {row['memory_arena']} "
                f"| {row['execution']} | {row['encoder_seconds']} | {row['relative']} |"
            )
    if results.get("strides"):
        lines += [
            "",
            "## Window overlap (chosen encoder, same decoding)",
            "",
            "| window | stride | tokens encoded per article token | dev encode s "
            "| SI F1 | TC | FLC F1 |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in results["strides"]:
            lines.append(
                f"| {row['window_tokens']} | {row['window_stride']} "
                f"| {row['encoded_per_article_token']} | {row['dev_encode_seconds']} "
                f"| {row['si']:.4f} | {row['tc']:.4f} | {row['flc']:.4f} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
