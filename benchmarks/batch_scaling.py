"""Batch throughput over the PTC train+dev articles: one process, N local workers, Dask.

Runs the same batch three ways and records articles per second and the scaling
ratio against one process, both end to end (engine start included) and for the run
alone, in ``benchmarks/results/batch_scaling.json`` and ``.md``. Also checks that
every engine wrote identical tables.

    python benchmarks/batch_scaling.py --model DIR [--workers 2] [--limit 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from propscan.batch.engines import Engine, open_engine
from propscan.batch.inputs import count_records
from propscan.batch.results import BatchResults, read_results
from propscan.batch.run import DEFAULT_CHUNK_SIZE, run_batch
from propscan.errors import PropscanError
from propscan.models.registry import describe_model
from propscan.ptc.splits import resolve_data_dir

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def timed_run(
    name: str,
    engine: Callable[[], AbstractContextManager[Engine]],
    corpus: Path,
    out: Path,
    model: Path | None,
    chunk_size: int,
    limit: int | None,
) -> dict[str, Any]:
    """One configuration: seconds to start the engine, seconds to analyse, throughput."""
    started = time.perf_counter()
    with engine() as runner:
        ready = time.perf_counter()
        summary = run_batch(
            corpus,
            out,
            model=model,
            engine=runner,
            chunk_size=chunk_size,
            limit=limit,
            progress=False,
        )
        finished = time.perf_counter()
    total = finished - started
    run = finished - ready
    print(
        f"{name}: {summary.done} articles, start {ready - started:.1f} s, run {run:.1f} s",
        file=sys.stderr,
    )
    return {
        "engine": name,
        "articles": summary.done,
        "failed": summary.failed,
        "spans": summary.spans,
        "start_seconds": round(ready - started, 3),
        "run_seconds": round(run, 3),
        "total_seconds": round(total, 3),
        "articles_per_second": round(summary.done / run, 3) if run else None,
        "articles_per_second_with_start": round(summary.done / total, 3) if total else None,
    }


def same_tables(first: BatchResults, second: BatchResults) -> bool:
    return (
        first.spans.equals(second.spans)
        and first.articles.equals(second.articles)
        and first.errors.equals(second.errors)
    )


def markdown(payload: dict[str, Any]) -> str:
    """The results as a Markdown table with the scaling ratios."""
    lines = [
        "# Batch throughput",
        "",
        f"{payload['articles']} PTC train+dev articles, model {payload['model']['name']} "
        f"{payload['model']['version']}, chunks of {payload['chunk_size']}, "
        f"{payload['cpu_count']} CPU cores (load average {payload['load_average_before']} "
        f"before the run), Python {payload['python']}, {payload['date']}.",
        "Worker processes load the model on their first chunk, so their start-up counts in "
        "'run'; 'start' is the engine's own (Dask cluster) start.",
        "",
        "| engine | start (s) | run (s) | articles/s | × 1 process | articles/s incl. start "
        "| × 1 process incl. start |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in payload["runs"]:
        lines.append(
            f"| {row['engine']} | {row['start_seconds']:.1f} | {row['run_seconds']:.1f} "
            f"| {row['articles_per_second']:.2f} | {row['speedup']:.2f} "
            f"| {row['articles_per_second_with_start']:.2f} | {row['speedup_with_start']:.2f} |"
        )
    identical = "yes" if payload["identical_results"] else "NO"
    lines += ["", f"Identical tables from every engine: {identical}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--model", type=Path, default=None, help="model directory (default: the shipped model)"
    )
    parser.add_argument("--data", type=Path, default=None, help="PTC corpus directory")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    parser.add_argument("--dask-workers", type=int, default=2, help="LocalCluster workers")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where to write results")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    try:
        corpus = resolve_data_dir(args.data)
        model = args.model.resolve() if args.model else None
        articles = min(count_records(corpus), args.limit or sys.maxsize)
        configurations: list[tuple[str, Callable[[], AbstractContextManager[Engine]]]] = [
            ("1 process", lambda: open_engine("local", model=model)),
            (
                f"{args.workers} local workers",
                lambda: open_engine("local", model=model, workers=args.workers),
            ),
            (
                f"dask, {args.dask_workers} workers",
                lambda: open_engine("dask", model=model, workers=args.dask_workers),
            ),
        ]
        runs = []
        with tempfile.TemporaryDirectory() as scratch:
            outputs = []
            for number, (name, engine) in enumerate(configurations):
                out = Path(scratch) / f"run-{number}"
                runs.append(
                    timed_run(name, engine, corpus, out, model, args.chunk_size, args.limit)
                )
                outputs.append(read_results(out))
            identical = all(same_tables(outputs[0], other) for other in outputs[1:])
    except PropscanError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    single, single_total = runs[0]["run_seconds"], runs[0]["total_seconds"]
    for row in runs:
        row["speedup"] = round(single / row["run_seconds"], 3)
        row["speedup_with_start"] = round(single_total / row["total_seconds"], 3)
    payload = {
        "articles": articles,
        "model": {"name": (described := describe_model(model)).name, "version": described.version},
        "chunk_size": args.chunk_size,
        "cpu_count": os.cpu_count(),
        "load_average_before": round(load_before, 2),
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "identical_results": identical,
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "batch_scaling.json").write_text(
        json.dumps(payload, indent=2) + "\n", encoding="utf-8"
    )
    (args.out / "batch_scaling.md").write_text(markdown(payload), encoding="utf-8")
    print(markdown(payload))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
