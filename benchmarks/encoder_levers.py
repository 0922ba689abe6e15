"""What each encoder-path lever gives: graph export and window overlap, on held-out F1 and speed.

    python benchmarks/encoder_levers.py --run DIR [--strides 192 224 254] [--threads 2]

``DIR`` is a ``propscan train --out DIR`` directory: its ``checkpoint/last.pt`` (the
model fitted on all of train) and ``selection/checkpoint/last.pt`` (the model fitted
without the validation part). Each export variant is written from those trained
weights and quantised the way training does (dynamic int8, per-channel):

- ``traced``: the graph as torch traces the trained attention implementation (what
  models before 0.2.1 shipped);
- ``fused, skip layer norm``: traced with plain attention and fused by onnxruntime's
  transformer optimiser (one Attention node per layer, each residual addition fused into
  its layer norm; what models 0.2.1 to 0.3.0 shipped);
- ``fused``: the same with residual additions left as an Add before a plain
  LayerNormalization (what training writes now).

Every variant is run at every analysis window stride, with the model's chosen decoding
otherwise unchanged. Validation F1 (the held-out part of train, selection model) is what
a choice may be made on; dev F1 (final model) is reported only. Encoder tokens/s is
timed over dev in this process. Writes ``benchmarks/results/encoder_levers.{json,md}``.
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

from speed import TimedEncoder

RESULTS = Path(__file__).parent / "results"
#: export variant -> (fused, skip_layer_norm) arguments of ``export_onnx``
VARIANTS = {
    "traced": (False, False),
    "fused, skip layer norm": (True, True),
    "fused": (True, False),
}


def export_variant(model_dir: Path, out: Path, fused: bool, skip_layer_norm: bool) -> Path:
    """A copy of ``model_dir`` whose encoder is exported from its checkpoint, int8."""
    import torch

    from propscan.models.base import read_model_config
    from propscan.models.transformer.detector import ENCODER_FILE
    from propscan.models.transformer.export import export_onnx
    from propscan.models.transformer.network import build_network
    from propscan.models.transformer.quantization import quantize_dynamic_encoder
    from propscan.models.transformer.train import default_encoder_dir

    ignore = shutil.ignore_patterns("checkpoint", "selection", "dev-evaluation", ENCODER_FILE)
    shutil.copytree(model_dir, out, ignore=ignore)
    network = build_network(default_encoder_dir())
    state = torch.load(model_dir / "checkpoint" / "last.pt", weights_only=False)
    network.load_state_dict(state["model"])
    fp32 = export_onnx(
        network,
        out / "fp32.onnx",
        read_model_config(model_dir)["special_tokens"],
        fused,
        skip_layer_norm,
    )
    quantize_dynamic_encoder(fp32, out / ENCODER_FILE)
    fp32.unlink()
    return out


def scores(model_dir: Path, articles, gold, stride: int, threads: int) -> dict:
    """SI/TC/FLC F1 at ``stride`` with the model's own decoding, and encoder speed."""
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.tuning import (
        bootstrap_scores,
        encode,
        predict,
        technique_hits,
    )

    detector = TransformerDetector.load(model_dir, threads=threads)
    detector.settings = replace(detector.settings, window_stride=stride)
    timer = detector.encoder = TimedEncoder(detector.encoder)
    data = encode(detector, articles, gold)
    found = predict(detector, data, detector.settings)
    point = bootstrap_scores(
        data.gold, found, technique_hits(detector, data), [a.id for a in articles], samples=200
    )
    article_tokens = sum(len(output.tokens) for output in data.outputs)
    return {
        **{key: round(value.value, 4) for key, value in point.items()},
        "encoder_tokens_per_second": round(timer.tokens / timer.seconds),
        "encoder_seconds": round(timer.seconds, 2),
        "tokens_encoded_per_article_token": round(timer.tokens / article_tokens, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a propscan train --out DIR")
    parser.add_argument("--strides", type=int, nargs="+", default=[192, 224, 254])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from propscan.models.transformer.train import SELECTION_DIR, TrainingSettings
    from propscan.ptc.splits import load_split, validation_ids

    train, dev = load_split(args.data, "train"), load_split(args.data, "dev")
    card = json.loads((args.run / "training.json").read_text(encoding="utf-8"))
    fraction = card.get("settings", {}).get(
        "validation_fraction", TrainingSettings().validation_fraction
    )
    held_out = validation_ids((a.id for a in train.articles), fraction)
    validation = [a for a in train.articles if a.id in held_out]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for variant, export in VARIANTS.items():
            selection = export_variant(
                args.run / SELECTION_DIR, Path(scratch) / f"{variant}-selection", *export
            )
            final = export_variant(args.run, Path(scratch) / f"{variant}-final", *export)
            for stride in args.strides:
                row = {
                    "export": variant,
                    "stride": stride,
                    "validation": scores(selection, validation, train.gold, stride, args.threads),
                    "dev": scores(final, dev.articles, dev.gold, stride, args.threads),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    write_results(args, rows, len(validation), len(dev.articles))


def write_results(
    args: argparse.Namespace, rows: list[dict], n_validation: int, n_dev: int
) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "python benchmarks/encoder_levers.py --run DIR",
        "date": time.strftime("%Y-%m-%d"),
        "threads": args.threads,
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs",
    }
    (args.out / "encoder_levers.json").write_text(
        json.dumps({**meta, "rows": rows}, indent=2) + "\n", encoding="utf-8"
    )
    lines = [
        "# Encoder-path levers: graph export and window overlap",
        "",
        f"`python benchmarks/encoder_levers.py --run DIR` on {meta['date']}, "
        f"{meta['machine']}, {args.threads} onnxruntime threads. Every export is dynamic "
        "int8 (per-channel) from the same trained weights; decoding as chosen in training, "
        f"only the window stride (of 254-token windows) varies. Validation: {n_validation} "
        f"held-out train articles, selection model; dev: {n_dev} articles, final model, "
        "reported only. Encoder tokens/s is timed over dev.",
        "",
        "| export | stride | tokens encoded per article token | encoder tokens/s | "
        "dev encoder s | validation SI / TC / FLC | dev SI / TC / FLC |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        val, dev = row["validation"], row["dev"]
        lines.append(
            f"| {row['export']} | {row['stride']} | {dev['tokens_encoded_per_article_token']} "
            f"| {dev['encoder_tokens_per_second']:,} | {dev['encoder_seconds']} "
            f"| {val['si']:.3f} / {val['tc']:.3f} / {val['flc']:.3f} "
            f"| {dev['si']:.3f} / {dev['tc']:.3f} / {dev['flc']:.3f} |"
        )
    (args.out / "encoder_levers.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
