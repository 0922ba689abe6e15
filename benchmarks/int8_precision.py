"""Whether the int8 encoders give the same marks on every CPU: dev scores with
onnxruntime's exact int8 products (what propscan uses) and with its fast ones.

    python benchmarks/int8_precision.py [--model NAME|DIR ...] [--data DIR] [--rounds 3]

On x86 CPUs without VNNI (AVX2, and Intel's AVX-512 before Cascade Lake) onnxruntime's
fast kernel for uint8 activations times int8 weights adds products in pairs in 16 bits
and saturates; ``propscan.models.transformer.runtime.EXACT_INT8_PRODUCTS`` turns such
products exact. Each model (default: every installed one) scores PTC dev both ways here;
both ways then find the dev articles' spans in turns for ``--rounds`` passes, each
keeping its fastest (sessions are made beforehand), and the largest difference in any
dev token's propaganda probability is reported. On a CPU with VNNI, or on ARM, both ways
should give the same figures. Writes ``benchmarks/results/int8_precision.{json,md}``.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from results_files import RESULTS, write_results

if TYPE_CHECKING:
    from propscan.ptc.splits import Split

#: ``EXACT_INT8_PRODUCTS``'s key with onnxruntime's default, 0: its fast int8 products.
FAST_INT8_PRODUCTS = ("session.x64quantprecision", "0")


def cpu_facts() -> dict[str, Any]:
    """The CPU, and whether it has the instructions that keep fast int8 products exact."""
    from propscan.evaluation.model_card import cpu_flags, machine_description

    flags = cpu_flags()
    return {
        "machine": machine_description(),
        # only x86 CPUs with AVX2 or AVX-512 have the saturating kernel
        "vnni": sorted(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})
        if "avx2" in flags
        else None,
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


def loaded(name: str, setting: tuple[str, str]) -> Any:
    """A fresh load of the model ``name`` (sessions of its own) whose int8 products go
    ``setting``'s way; every session is made here, none while timed."""
    from propscan.models.registry import load_detector, model_directory

    with int8_products(setting):
        model = load_detector(model_directory(name))
        if model.windowed.side_by_side is not None:
            model.windowed.side_by_side.encoder  # noqa: B018
    return model


def dev_scores(model: Any, dev: Split) -> dict[str, float]:
    """SI, TC and FLC on dev, as ``propscan evaluate`` scores them."""
    from propscan.evaluation.evaluate import evaluate

    with tempfile.TemporaryDirectory() as out:
        result = evaluate(model, dev.articles, dev.gold, out)
    return {key: round(value, 4) for key, value in result.summary().items()}


def fastest_seconds(models: dict[str, Any], texts: list[str], rounds: int) -> dict[str, float]:
    """Each model's fastest of ``rounds`` passes finding the spans of ``texts``, the
    models taking turns so that a shared host's drift reaches each alike."""
    seconds: dict[str, list[float]] = {way: [] for way in models}
    for _ in range(rounds):
        for way, model in models.items():
            started = time.perf_counter()
            model.predict(texts)
            seconds[way].append(time.perf_counter() - started)
    return {way: round(min(times), 2) for way, times in seconds.items()}


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
    parser.add_argument(
        "--rounds", type=int, default=3, help="timed passes each way; each keeps its fastest"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    dev = load_split(args.data, "dev")
    cpu = cpu_facts()
    texts = [article.text for article in dev.articles]
    vnni = "not an x86 CPU with AVX2" if cpu["vnni"] is None else ", ".join(cpu["vnni"]) or "none"
    result: dict[str, Any] = {"cpu": cpu, "models": {}}
    lines = [
        "# Int8 products on this CPU: exact against fast",
        "",
        f"`{shlex.join(['python', 'benchmarks/int8_precision.py', *sys.argv[1:]])}`"
        f" on {cpu['machine']}; VNNI: {vnni}. Dev scores with "
        f"the exact products propscan uses (`{EXACT_INT8_PRODUCTS[0]}` on) and with "
        "onnxruntime's fast ones, which saturate on x86 CPUs without VNNI; the last "
        "column is the largest difference between the two in any dev token's "
        "propaganda probability. Seconds finding spans are each way's fastest of "
        f"{args.rounds} passes over the {len(texts)} dev articles, the two taking turns.",
        "",
        "| model | products | SI F1 | TC micro-F1 | FLC F1 | seconds finding spans "
        "| largest probability difference |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in args.model or usable_models():
        models = {
            "exact": loaded(name, EXACT_INT8_PRODUCTS),
            "fast": loaded(name, FAST_INT8_PRODUCTS),
        }
        label = f"{models['exact'].name} {models['exact'].version}"
        scores = {way: dev_scores(model, dev) for way, model in models.items()}
        probabilities = {way: model.encode(texts) for way, model in models.items()}
        pairs = zip(probabilities["exact"], probabilities["fast"], strict=True)
        difference = max(float(np.abs(a.si_prob - b.si_prob).max()) for a, b in pairs)
        seconds = fastest_seconds(models, texts, args.rounds)
        result["models"][label] = {
            **{way: {**scores[way], "seconds finding spans": seconds[way]} for way in models},
            "largest probability difference": round(difference, 4),
            "exact over fast, seconds": round(seconds["exact"] / seconds["fast"], 2),
        }
        for way in models:
            lines.append(
                f"| {label} | {'exact (used)' if way == 'exact' else way} "
                f"| {scores[way]['si_f1']:.3f} | {scores[way]['tc_micro_f1']:.3f} "
                f"| {scores[way]['flc_f1']:.3f} | {seconds[way]} "
                f"| {round(difference, 4) if way == 'exact' else ''} |"
            )
        lines.append(
            f"| {label} | exact over fast | | | | "
            f"{result['models'][label]['exact over fast, seconds']}x | |"
        )
    write_results(args.out, "int8_precision", result, lines)


if __name__ == "__main__":
    main()
