"""What each encoder-path lever gives: graph export and window overlap, on held-out F1 and speed.

    python benchmarks/encoder_levers.py --run DIR [--strides 192 224 254] [--threads 2]
        [--windows-per-call 1] [--balanced-windows]

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
and windows per encoder call otherwise unchanged; the ``fused`` export is also run at
the model's own stride with each ``--windows-per-call`` (the windows of one article
sent to the encoder together) and, with ``--balanced-windows``, with each article's
windows spread evenly at the shortest length that keeps the stride's overlap (fewer
tokens encoded: the ``balanced_windows`` decoding setting). Validation F1 (the held-out
part of train, selection model) is what a choice may be made on; dev F1 (final model)
is reported only. Encoder tokens/s is timed over dev in this process. Writes
``benchmarks/results/encoder_levers.{json,md}``.
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


def scores(
    model_dir: Path,
    articles,
    gold,
    stride: int,
    threads: int,
    windows_per_call: int | None,
    balanced: bool = False,
) -> dict:
    """SI/TC/FLC F1 at ``stride`` with the model's own decoding, and encoder speed;
    ``windows_per_call`` (None: the model's own) changes how windows are batched and
    ``balanced`` how they are laid out."""
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.tuning import (
        bootstrap_scores,
        encode,
        predict,
        technique_hits,
    )

    detector = TransformerDetector.load(model_dir, threads=threads)
    detector.settings = replace(detector.settings, window_stride=stride, balanced_windows=balanced)
    if windows_per_call is not None:
        detector.windows_per_call = windows_per_call
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
        "windows_per_call": detector.windows_per_call,
        "windows": "balanced" if balanced else "strided",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a propscan train --out DIR")
    parser.add_argument("--strides", type=int, nargs="+", default=[192, 224, 254])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--windows-per-call",
        type=int,
        nargs="*",
        default=[1],
        help="also run the fused export at the model's stride with these windows per call",
    )
    parser.add_argument(
        "--balanced-windows",
        action="store_true",
        help="also run the fused export at the model's stride with balanced windows",
    )
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from propscan.models.base import read_model_config
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
            runs = [(stride, None, False) for stride in args.strides]
            if variant == "fused":
                own_stride = read_model_config(final)["decoding"]["window_stride"]
                runs += [(own_stride, windows, False) for windows in args.windows_per_call]
                if args.balanced_windows:
                    runs.append((own_stride, None, True))
            for stride, windows, balanced in runs:
                chosen = (stride, args.threads, windows, balanced)
                row = {
                    "export": variant,
                    "stride": stride,
                    "validation": scores(selection, validation, train.gold, *chosen),
                    "dev": scores(final, dev.articles, dev.gold, *chosen),
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
        "only the window stride (of 254-token windows), their layout (strided: full "
        "windows every stride, the last flush with the end; balanced: as many windows, "
        "spread evenly and as short as the overlap allows) and the windows per encoder call "
        f"(of one article) vary. Validation: {n_validation} "
        f"held-out train articles, selection model; dev: {n_dev} articles, final model, "
        "reported only. Encoder tokens/s is timed over dev.",
        "",
        "| export | stride | windows | windows per call | tokens encoded per article token "
        "| encoder tokens/s | dev encoder s | validation SI / TC / FLC | dev SI / TC / FLC |",
        "|---|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        val, dev = row["validation"], row["dev"]
        lines.append(
            f"| {row['export']} | {row['stride']} | {dev['windows']} "
            f"| {dev['windows_per_call']} "
            f"| {dev['tokens_encoded_per_article_token']} "
            f"| {dev['encoder_tokens_per_second']:,} | {dev['encoder_seconds']} "
            f"| {val['si']:.3f} / {val['tc']:.3f} / {val['flc']:.3f} "
            f"| {dev['si']:.3f} / {dev['tc']:.3f} / {dev['flc']:.3f} |"
        )
    (args.out / "encoder_levers.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
