"""Load test of the propscan service: concurrent clients on loopback, a fixed request count.

Starts ``propscan serve`` on a free loopback port with a throw-away database, sends
``--requests`` analyses of dev-split articles from ``--clients`` concurrent clients,
and records errors, throughput and p50/p95 latency in
``benchmarks/results/service_load.json`` and ``.md``. Exits 1 if any request failed.

    python benchmarks/service_load.py [--model DIR] [--clients 8] [--requests 200]
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


def start_server(port: int, database: Path, model: str | None) -> subprocess.Popen[bytes]:
    command = [*propscan_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--db", str(database)]
    if model:
        command += ["--model", model]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until_healthy(base_url: str, server: subprocess.Popen[bytes], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = server.stderr.read().decode(errors="replace") if server.stderr else ""
            raise PropscanError(f"the server exited with status {server.returncode}: {stderr}")
        try:
            response = httpx.get(f"{base_url}/healthz", timeout=2)
            if response.status_code == 200:
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


def summarise(outcomes: list[Outcome], wall: float, texts: list[str]) -> dict[str, Any]:
    latencies = [o.seconds * 1000 for o in outcomes if o.ok]
    errors = [o for o in outcomes if not o.ok]
    return {
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
        "articles": len(texts),
        "article_characters_mean": round(statistics.fmean(len(t) for t in texts)),
    }


def write_results(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "service_load.json"
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    latency = result["latency_ms"]
    lines = [
        "# Service load benchmark",
        "",
        f"`python benchmarks/service_load.py` on {result['date']}: {result['clients']} concurrent "
        f"clients on loopback send {result['requests']} `POST /api/analyze` requests "
        f"(dev-split articles, {result['article_characters_mean']:,} characters on average) "
        f"to `propscan serve` with model {result['model']['name']} "
        f"{result['model']['version']}.",
        "",
        "| requests | errors | wall (s) | throughput (req/s) | p50 (ms) | p95 (ms) | max (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {result['requests']} | {result['errors']} | {result['wall_seconds']} | "
        f"{result['throughput_rps']} | {latency['p50']} | {latency['p95']} | {latency['max']} |",
        "",
        f"Machine: {result['machine']['cpus']} CPUs, {result['machine']['platform']}, "
        f"Python {result['machine']['python']}.",
        "",
    ]
    md_path = out / "service_load.md"
    md_path.write_text("\n".join(lines), encoding="utf-8")
    return json_path, md_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--data", help="PTC corpus directory (default: $PROPSCAN_DATA)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=200, help="requests in all")
    parser.add_argument("--articles", type=int, default=25, help="dev articles to cycle through")
    parser.add_argument("--budget", type=float, default=540.0, help="time limit in seconds")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 1 or args.articles < 1:
        parser.error("--clients, --requests and --articles must be at least 1")
    try:
        texts = [a.text for a in load_split(args.data, "dev").articles[: args.articles]]
        with tempfile.TemporaryDirectory() as scratch:
            port = free_loopback_port()
            base_url = f"http://127.0.0.1:{port}"
            server = start_server(port, Path(scratch) / "history.db", args.model)
            try:
                health = wait_until_healthy(base_url, server, timeout=180)
                httpx.post(f"{base_url}/api/analyze", json={"text": texts[0]}, timeout=120)
                outcomes, wall = asyncio.run(
                    run_load(base_url, texts, args.clients, args.requests, args.budget)
                )
            finally:
                server.terminate()
                server.wait(timeout=30)
    except (PropscanError, OSError, httpx.HTTPError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    result = {
        "benchmark": "service_load",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "clients": args.clients,
        "model": health["model"],
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        **summarise(outcomes, wall, texts),
    }
    for path in write_results(result, args.out):
        print(path)
    latency = result["latency_ms"]
    print(
        f"{result['requests']} requests, {result['errors']} errors, "
        f"{result['throughput_rps']} req/s, p50 {latency['p50']} ms, p95 {latency['p95']} ms"
    )
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
