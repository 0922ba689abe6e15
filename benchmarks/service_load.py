"""Load test of the propscan service: concurrent clients on loopback, a fixed request count.

For each ``--workers`` count, starts ``propscan serve --workers N`` on a free loopback
port with a throw-away database; then, for each ``--concurrency``, sends ``--requests``
analyses of dev-split articles from that many concurrent clients. Records errors,
throughput and p50/p95/max latency of every combination in
``benchmarks/results/service_load.json`` and ``.md`` (``--out`` elsewhere). Exits 1 if
any request failed.

    python benchmarks/service_load.py [--model DIR] [--workers 1 2] [--concurrency 1 4 8]
        [--requests 200] [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from propscan.batch.engines import THREADS_VARIABLE, share_cores
from propscan.core.words import plural
from propscan.errors import PropscanError
from propscan.ptc.splits import load_split

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Outcome:
    """One request: how long it took and whether it got the stored analysis back."""

    seconds: float
    ok: bool
    detail: str = ""


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def propscan_command() -> list[str]:
    """The ``propscan`` console script of this Python environment."""
    beside = Path(sys.executable).with_name("propscan")
    found = str(beside) if beside.exists() else shutil.which("propscan")
    if found is None:
        raise PropscanError("the propscan command is not installed; run pip install -e .")
    return [found]


def start_server(
    port: int, database: Path, model: str | None, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    command = [*propscan_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--db", str(database), "--workers", str(workers)]
    if model:
        command += ["--model", model]
    with log.open("wb") as sink:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)


def wait_until_healthy(
    base_url: str, server: subprocess.Popen[bytes], workers: int, log: Path, timeout: float
) -> dict:
    """The /healthz answer, once every worker has loaded its model."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = log.read_text(errors="replace")
            raise PropscanError(f"the server exited with status {server.returncode}: {stderr}")
        started = log.read_text(errors="replace").count("Application startup complete.")
        try:
            response = httpx.get(f"{base_url}/healthz", timeout=2)
            if response.status_code == 200 and started >= workers:
                return dict(response.json())
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise PropscanError(f"the server did not answer /healthz within {timeout:.0f} s")


async def run_load(
    base_url: str, texts: list[str], clients: int, requests: int, budget: float
) -> tuple[list[Outcome], float]:
    """Send ``requests`` analyses from ``clients`` concurrent workers; stop at ``budget`` s."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for number in range(requests):
        queue.put_nowait(texts[number % len(texts)])
    outcomes: list[Outcome] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            text = queue.get_nowait()
            began = time.perf_counter()
            try:
                response = await client.post("/api/analyze", json={"text": text})
                ok = response.status_code == 201 and response.json().get("text") == text
                detail = "" if ok else f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as error:
                ok, detail = False, f"{type(error).__name__}: {error}"
            outcomes.append(Outcome(time.perf_counter() - began, ok, detail))

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:
        began = time.perf_counter()
        workers = [asyncio.create_task(client_loop(client)) for _ in range(clients)]
        _, pending = await asyncio.wait(workers, timeout=budget)
        for task in pending:
            task.cancel()
        wall = time.perf_counter() - began
    unsent = requests - len(outcomes)
    outcomes += [Outcome(0.0, False, "not sent within the time budget")] * unsent
    return outcomes, wall


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation), so it is a latency that really happened."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def threads_per_worker(workers: int) -> int:
    """The onnxruntime threads of each worker: ``PROPSCAN_THREADS``, else cores // workers."""
    return int(share_cores(workers).get(THREADS_VARIABLE) or os.environ[THREADS_VARIABLE])


def summarise(
    outcomes: list[Outcome], wall: float, workers: int, concurrency: int
) -> dict[str, Any]:
    latencies = [o.seconds * 1000 for o in outcomes if o.ok]
    errors = [o for o in outcomes if not o.ok]
    return {
        "workers": workers,
        "threads_per_worker": threads_per_worker(workers),
        "concurrency": concurrency,
        "requests": len(outcomes),
        "errors": len(errors),
        "error_samples": sorted({o.detail for o in errors})[:5],
        "wall_seconds": round(wall, 3),
        "throughput_rps": round(len(latencies) / wall, 3) if wall else 0.0,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1) if latencies else None,
            "p95": round(percentile(latencies, 0.95), 1) if latencies else None,
            "max": round(max(latencies), 1) if latencies else None,
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
    }


def write_results(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "service_load.json"
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Service load benchmark",
        "",
        f"`python benchmarks/service_load.py` on {result['date']}: for each number of "
        f"`propscan serve --workers`, concurrent clients on loopback send "
        f"{result['requests_per_run']} `POST /api/analyze` requests (dev-split articles, "
        f"{result['article_characters_mean']:,} characters on average) with model "
        f"{result['model']['name']} {result['model']['version']}.",
        "",
        "| workers | threads each | concurrency | requests | errors | wall (s) "
        "| throughput (req/s) | p50 (ms) | p95 (ms) | max (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in result["runs"]:
        latency = run["latency_ms"]
        lines.append(
            f"| {run['workers']} | {run['threads_per_worker']} | {run['concurrency']} | "
            f"{run['requests']} | {run['errors']} | {run['wall_seconds']} | "
            f"{run['throughput_rps']} | {latency['p50']} | {latency['p95']} | {latency['max']} |"
        )
    lines += [
        "",
        f"Machine: {result['machine']['cpus']} CPUs, {result['machine']['platform']}, "
        f"Python {result['machine']['python']}.",
        "",
    ]
    md_path = out / "service_load.md"
    md_path.write_text("\n".join(lines), encoding="utf-8")
    return json_path, md_path


def measure_workers(
    workers: int, args: argparse.Namespace, texts: list[str], scratch: Path
) -> tuple[dict, list[dict[str, Any]]]:
    """Start ``propscan serve --workers N`` and load it at each concurrency in turn."""
    port = free_loopback_port()
    base_url = f"http://127.0.0.1:{port}"
    log = scratch / f"serve-{workers}.log"
    server = start_server(port, scratch / f"history-{workers}.db", args.model, workers, log)
    try:
        health = wait_until_healthy(base_url, server, workers, log, timeout=180)
        # warm every worker up (a connection goes to whichever worker accepts it)
        asyncio.run(run_load(base_url, texts, 2 * workers, 2 * workers, args.budget))
        runs = []
        for concurrency in args.concurrency:
            outcomes, wall = asyncio.run(
                run_load(base_url, texts, concurrency, args.requests, args.budget)
            )
            runs.append(summarise(outcomes, wall, workers, concurrency))
            print(format_run(runs[-1]))
    finally:
        server.terminate()
        server.wait(timeout=60)
    return health, runs


def format_run(run: dict[str, Any]) -> str:
    latency = run["latency_ms"]
    return (
        f"{plural(run['workers'], 'worker')}, {plural(run['concurrency'], 'client')}: "
        f"{plural(run['requests'], 'request')}, {plural(run['errors'], 'error')}, "
        f"{run['throughput_rps']} req/s, p50 {latency['p50']} ms, "
        f"p95 {latency['p95']} ms, max {latency['max']} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--data", help="PTC corpus directory (default: $PROPSCAN_DATA)")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="propscan serve --workers counts"
    )
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 4, 8], help="concurrent clients"
    )
    parser.add_argument("--requests", type=int, default=200, help="requests per combination")
    parser.add_argument("--articles", type=int, default=25, help="dev articles to cycle through")
    parser.add_argument(
        "--budget", type=float, default=540.0, help="time limit per combination in seconds"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory")
    args = parser.parse_args(argv)
    if min(args.workers + args.concurrency) < 1 or args.requests < 1 or args.articles < 1:
        parser.error("--workers, --concurrency, --requests and --articles must be at least 1")
    runs: list[dict[str, Any]] = []
    try:
        texts = [a.text for a in load_split(args.data, "dev").articles[: args.articles]]
        with tempfile.TemporaryDirectory() as scratch:
            for workers in args.workers:
                health, measured = measure_workers(workers, args, texts, Path(scratch))
                runs += measured
    except (PropscanError, OSError, httpx.HTTPError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    result = {
        "benchmark": "service_load",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": health["model"],
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "requests_per_run": args.requests,
        "articles": len(texts),
        "article_characters_mean": round(statistics.fmean(len(t) for t in texts)),
        "runs": runs,
    }
    for path in write_results(result, args.out):
        print(path)
    return 0 if all(run["errors"] == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
