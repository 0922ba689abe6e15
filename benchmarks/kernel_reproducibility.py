"""Do the CPU kernels torch picks change what ``propscan train`` fits? Tiny runs side by side.

    python benchmarks/kernel_reproducibility.py [--data DIR] [--steps 4] [--articles 6]

A run of one ``propscan train`` command on one machine gives the same weights byte for
byte, yet the same command on another CPU lands up to a point away on validation (ablation
row 78). torch, MKL and oneDNN each choose their vector kernels (AVX2, AVX-512) from the CPU
they run on, and a different order of floating-point sums gives different last bits, which
training then amplifies. This benchmark fits the same tiny run (MiniLM, ``--steps``
optimiser steps on ``--articles`` PTC train articles) in fresh processes: twice as the
machine chooses (is one machine deterministic?), then with each library held to AVX2 in
turn (``ATEN_CPU_CAPABILITY``, then also ``MKL_ENABLE_INSTRUCTIONS``/``MKL_CBWR`` and
``ONEDNN_MAX_CPU_ISA``: what a run on an AVX2-only CPU would use), and compares the fitted
weights of each with the first run's. Writes
``benchmarks/results/kernel_reproducibility.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from results_files import RESULTS, write_results

#: (label, environment) of each run; the first is the reference.
SETTINGS: tuple[tuple[str, dict[str, str]], ...] = (
    ("as the machine chooses", {}),
    ("as the machine chooses, again", {}),
    ("torch's own kernels held to AVX2", {"ATEN_CPU_CAPABILITY": "avx2"}),
    (
        "torch, MKL and oneDNN held to AVX2",
        {
            "ATEN_CPU_CAPABILITY": "avx2",
            "MKL_ENABLE_INSTRUCTIONS": "AVX2",
            "MKL_CBWR": "AVX2",
            "ONEDNN_MAX_CPU_ISA": "AVX2",
        },
    ),
)


def fit(out: Path, data: str | None, steps: int, articles: int, env: dict[str, str]) -> float:
    """One tiny ``propscan train`` run in a fresh process (the libraries read their
    settings when they load); returns its seconds."""
    command = [
        *(sys.executable, "-m", "propscan", "train", "--out", str(out)),
        *(["--data", data] if data else []),
        *("--max-steps", str(steps), "--max-articles", str(articles), "--epochs", "1"),
        *("--no-quantize", "--no-refit", "--no-progress", "--no-evaluate-dev"),
    ]
    started = time.monotonic()
    subprocess.run(command, env={**os.environ, **env}, check=True, capture_output=True)
    return time.monotonic() - started


def weights(run: Path) -> dict[str, Any]:
    import torch

    from propscan.models.transformer.fitting import checkpoint_path

    state = torch.load(checkpoint_path(run), map_location="cpu", weights_only=False)
    return {"model": state["model"], "losses": state["history"]}


def main() -> None:
    from propscan.evaluation.model_card import machine_description
    from propscan.models.transformer.fitting import torch_build

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="PTC corpus directory")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--articles", type=int, default=6)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        reference = None
        for index, (label, env) in enumerate(SETTINGS):
            run = Path(scratch) / str(index)
            seconds = fit(run, args.data, args.steps, args.articles, env)
            fitted = weights(run)
            if reference is None:
                reference = fitted
            difference = max(
                float((fitted["model"][name].float() - tensor.float()).abs().max())
                for name, tensor in reference["model"].items()
            )
            rows.append(
                {
                    "run": label,
                    "environment": env,
                    "max_weight_difference": difference,
                    "weights_equal": difference == 0.0,
                    "losses": [round(float(loss), 6) for loss in fitted["losses"]],
                    "seconds": round(seconds, 1),
                }
            )
    result = {
        "steps": args.steps,
        "articles": args.articles,
        "machine": machine_description(),
        "torch": torch_build("cpu"),
        "runs": rows,
    }
    lines = [
        "# CPU kernels and reproducibility of training",
        "",
        f"`python benchmarks/kernel_reproducibility.py`: the same tiny `propscan train` run "
        f"(MiniLM, {args.steps} steps, {args.articles} PTC train articles) in fresh processes "
        f"on {result['machine']} ({result['torch']} as the machine chooses); each run's "
        "weights against the first run's.",
        "",
        "| run | environment | weights equal | largest weight difference | losses |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        env = ", ".join(f"`{k}={v}`" for k, v in row["environment"].items()) or "-"
        lines.append(
            f"| {row['run']} | {env} | {'yes' if row['weights_equal'] else 'no'} "
            f"| {row['max_weight_difference']:.2e} | {', '.join(map(str, row['losses']))} |"
        )
    write_results(args.out, "kernel_reproducibility", result, lines)


if __name__ == "__main__":
    main()
