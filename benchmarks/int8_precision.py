"""Whether the int8 encoders give the same marks on every CPU: dev scores with
onnxruntime's exact int8 products (what propscan uses) and with its fast ones.

    python benchmarks/int8_precision.py [--model NAME|DIR ...] [--data DIR]

On x86 CPUs without VNNI (AVX2, and AVX-512 before Cascade Lake) onnxruntime's fast
kernel for uint8 activations times int8 weights adds products in pairs in 16 bits and
saturates; ``propscan.models.transformer.runtime.EXACT_INT8_PRODUCTS`` turns such
products exact. Each model (default: the shipped one and ``mpnet`` where installed)
scores PTC dev both ways here, with the time spent finding spans, and the largest
difference in any token's propaganda probability over the dev articles. On a CPU with VNNI
both ways give the same figures. Writes ``benchmarks/results/int8_precision.{json,md}``.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from results_files import RESULTS, write_results

#: The session setting with the same key and its default value: onnxruntime's fast
#: int8 products.
FAST_INT8_PRODUCTS = ("session.x64quantprecision", "0")


def cpu_facts() -> dict[str, Any]:
    """The CPU, and whether it has the instructions that keep fast int8 products exact."""
    from propscan.evaluation.model_card import cpu_flags, machine_description

    return {
        "machine": machine_description(),
        "vnni": sorted(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"}),
    }


@contextlib.contextmanager
def int8_products(setting: tuple[str, str]) -> Iterator[None]:
    """Sessions made inside the block use ``setting`` for their int8 products."""
    from propscan.models.transformer import runtime

    kept = runtime.EXACT_INT8_PRODUCTS
    runtime.EXACT_INT8_PRODUCTS = setting
    try:
        yield
    finally:
        runtime.EXACT_INT8_PRODUCTS = kept


def one_way(name: str, dev: Any, setting: tuple[str, str]) -> tuple[dict, list]:
    """Dev scores, seconds finding spans, and each article's token propaganda
    probabilities, one way."""
    from propscan.evaluation.evaluate import evaluate
    from propscan.models.registry import load_detector, model_directory

    with int8_products(setting), tempfile.TemporaryDirectory() as out:
        model = load_detector(model_directory(name))  # a fresh load: its own sessions
        result = evaluate(model, dev.articles, dev.gold, out)
        found = model.encode([article.text for article in dev.articles])
        probabilities = [outputs.si_prob for outputs in found]
    scores = {key: round(value, 4) for key, value in result.summary().items()}
    scores["seconds finding spans"] = round(result.predict_seconds, 1)
    scores["model"] = f"{model.name} {model.version}"
    return scores, probabilities


def usable_models() -> list[str]:
    """Every model that can be named here: the shipped one and the installed packages'."""
    from propscan.models.registry import installed_models

    return [model.name for model in installed_models() if model.problem is None]


def main() -> None:
    from propscan.models.transformer.runtime import EXACT_INT8_PRODUCTS
    from propscan.ptc.splits import load_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", action="append", default=[], help="model name or directory (repeat)"
    )
    parser.add_argument("--data", default=None, help="PTC corpus directory")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    dev = load_split(args.data, "dev")
    cpu = cpu_facts()
    result: dict[str, Any] = {"cpu": cpu, "models": {}}
    lines = [
        "# Int8 products on this CPU: exact against fast",
        "",
        f"`python benchmarks/int8_precision.py{''.join(f' --model {m}' for m in args.model)}`"
        f" on {cpu['machine']}; VNNI: {', '.join(cpu['vnni']) or 'none'}. Dev scores with "
        f"the exact products propscan uses (`{EXACT_INT8_PRODUCTS[0]}` on) and with "
        "onnxruntime's fast ones, which saturate on x86 CPUs without VNNI; the last "
        "column is the largest difference between the two in any dev token's "
        "propaganda probability.",
        "",
        "| model | products | SI F1 | TC micro-F1 | FLC F1 | seconds finding spans "
        "| largest probability difference |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in args.model or usable_models():
        exact, exact_probabilities = one_way(name, dev, EXACT_INT8_PRODUCTS)
        fast, fast_probabilities = one_way(name, dev, FAST_INT8_PRODUCTS)
        pairs = zip(exact_probabilities, fast_probabilities, strict=True)
        difference = max(float(np.abs(a - b).max()) for a, b in pairs)
        label = exact.pop("model")
        fast.pop("model")
        result["models"][label] = {
            "exact": exact,
            "fast": fast,
            "largest probability difference": round(difference, 4),
        }
        for way, scores in (("exact (used)", exact), ("fast", fast)):
            lines.append(
                f"| {label} | {way} | {scores['si_f1']:.3f} | {scores['tc_micro_f1']:.3f} "
                f"| {scores['flc_f1']:.3f} | {scores['seconds finding spans']} "
                f"| {'' if way == 'fast' else round(difference, 4)} |"
            )
    write_results(args.out, "int8_precision", result, lines)


if __name__ == "__main__":
    main()
