"""Reliability of the propscan service: a bounded loopback soak, then a kill -9 crash test.

Soak: starts ``propscan serve`` on a free loopback port with a throw-away database and
sends ``--requests`` requests (valid analyses, listings and pages mixed with hostile
input: lone surrogates, bytes that are not UTF-8, deep JSON, huge paging numbers,
invisible text, oversized bodies, wrong media types) from ``--concurrency`` clients.
It records the answers per status class, p50/p95 latency, dropped connections and the
server's resident memory after a warm-up round (a tenth as many requests of the same
mix, not counted) and through the soak.

Crash: starts the server again, lets clients store analyses, kills the server with
SIGKILL while requests are in flight, restarts it on the same database and counts how
many of the analyses that had been answered (201) can be read back, byte for byte.

Slow clients: against a server with the default limits, ``--slow-headers`` connections
send part of their headers and ``--slow-bodies`` part of their body, then stall, while
one client keeps sending ordinary requests (``benchmarks/slow_clients.py``).

Batch soak: ``--batch-records`` short records, ``--hostile-share`` of them hostile, run
by ``propscan batch`` once uninterrupted and once killed ``--kills`` times with SIGKILL
and resumed; the two runs' tables must be identical and every record accounted for
(``benchmarks/batch_soak.py``).

Foreign origin: starts the server again and sends every state-changing request as
another web site would make a browser send it (a foreign or ``null`` Origin, a
cross-site or same-site Sec-Fetch-Site, a browser extension without the token), then
checks that each was refused and nothing was stored or deleted, while the same requests
from the service's own pages and from programs without an Origin still work
(``benchmarks/foreign_origin.py``).

Everything goes to 127.0.0.1 only; every part stops by itself (request count and
time budget). Results: ``benchmarks/results/reliability.json`` and ``.md``. Exits 1
when the soak saw a 5xx or a dropped connection, memory grew by 20% or more after
warm-up, an answered analysis was lost, a stalled client was kept or an ordinary one
refused, the killed batch run lost, doubled or changed a record, or a foreign request
was served.

    python benchmarks/reliability.py [--requests 2000] [--concurrency 8] [--model DIR]
        [--batch-records 10000] [--kills 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from batch_soak import batch_soak, batch_soak_lines, batch_soak_problems
from foreign_origin import foreign_origin, foreign_origin_lines, foreign_origin_problems
from service_load import free_loopback_port, percentile, wait_until_healthy
from slow_clients import slow_client_lines, slow_client_problems, slow_clients

from propscan.errors import PropscanError
from propscan.service.connection_limits import ConnectionLimits

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]
#: Size of the warm-up round (a share of the soak, same mix) sent before memory is measured.
WARM_UP_SHARE = 0.1
MAX_MEMORY_GROWTH = 0.20
FALLBACK_TEXTS = [
    "The corrupt elites in Washington want to destroy everything our fathers built.",
    "Experts agree: the treacherous media lies to you every single day, again and again.",
    "The council met on Tuesday and approved the budget for the new library.",
]


@dataclass(frozen=True)
class Request:
    """One request of the mix: what it is, and how to send it."""

    kind: str
    hostile: bool
    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class Answer:
    kind: str
    hostile: bool
    status: int | None  # None: no answer (the connection failed)
    seconds: float
    detail: str = ""


# --- the server -------------------------------------------------------------------------------


def start_server(port: int, database: Path, model: str | None, log: Path) -> subprocess.Popen:
    """``propscan serve`` of this Python environment, logging to ``log``."""
    command = [sys.executable, "-c", "from propscan.cli import main; main()", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--db", str(database)]
    if model:
        command += ["--model", model]
    handle = log.open("ab")
    return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)


def start_healthy_server(
    database: Path, model: str | None, log: Path
) -> tuple[subprocess.Popen, str, dict]:
    """A server on a free loopback port, its base URL and its /healthz answer once it is up."""
    port = free_loopback_port()
    base_url = f"http://127.0.0.1:{port}"
    server = start_server(port, database, model, log)
    try:
        health = wait_until_healthy(base_url, server, workers=1, log=log, timeout=180)
    except BaseException:
        stop(server)
        raise
    return server, base_url, health


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


def resident_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


# --- the request mix --------------------------------------------------------------------------


def article_texts(data: str | None, count: int, max_chars: int) -> list[str]:
    """The first ``count`` dev articles (cut to ``max_chars``), or a few built-in ones."""
    root = Path(data or os.environ.get("PROPSCAN_DATA") or REPO.parent / "shared/data/ptc-v2")
    files = sorted((root / "dev-articles").glob("*.txt"))[:count]
    texts = [path.read_text(encoding="utf-8")[:max_chars] for path in files]
    return [text for text in texts if text.strip()] or FALLBACK_TEXTS


def _json(payload: object) -> bytes:
    return json.dumps(payload).encode()


def hostile_requests(max_body: int) -> list[Callable[[random.Random], Request]]:
    """Makers of requests a hostile or broken client sends; each must get a 4xx."""
    form = "application/x-www-form-urlencoded"
    json_type = "application/json"
    return [
        lambda r: Request(
            "lone-surrogate",
            True,
            "POST",
            "/api/analyze",
            b'{"text": "They are liars \\ud800 and traitors."}',
            json_type,
        ),
        lambda r: Request(
            "not-utf8-json", True, "POST", "/api/analyze", b'{"text": "They \xff lie"}', json_type
        ),
        lambda r: Request(
            "deep-json",
            True,
            "POST",
            "/api/analyze",
            b'{"text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
            json_type,
        ),
        lambda r: Request(
            "huge-offset", True, "GET", f"/api/analyses?offset={2**63 + r.randrange(10**6)}"
        ),
        lambda r: Request("huge-limit", True, "GET", f"/api/analyses?limit={10**20}"),
        lambda r: Request(
            "huge-page", True, "GET", f"/history?page={461168601842738792 + r.randrange(99)}"
        ),
        lambda r: Request(
            "form-not-utf8", True, "POST", "/analyze", b"text=They+are+%FF+liars", form
        ),
        lambda r: Request(
            "zero-width", True, "POST", "/api/analyze", _json({"text": "\u200b" * 50}), json_type
        ),
        lambda r: Request(
            "nul-text", True, "POST", "/api/analyze", _json({"text": "\x00" * 2000}), json_type
        ),
        lambda r: Request(
            "body-too-large",
            True,
            "POST",
            "/api/analyze",
            b'{"text": "' + b"x" * max_body + b'"}',
            json_type,
        ),
        lambda r: Request("wrong-type", True, "POST", "/api/analyze", b"text=hello", "text/plain"),
        lambda r: Request(
            "malformed-json", True, "POST", "/api/analyze", b'{"text": "unclosed', json_type
        ),
        lambda r: Request("unknown-id", True, "GET", f"/api/analyses/nope{r.randrange(10**6)}"),
        lambda r: Request("bad-method", True, "PUT", "/api/analyze", b"{}", json_type),
        lambda r: Request(
            "private-url",
            True,
            "POST",
            "/api/analyze",
            _json({"url": "http://127.0.0.1:9/x"}),
            json_type,
        ),
        lambda r: Request(
            "bad-threshold",
            True,
            "POST",
            "/api/analyze",
            _json({"text": "They lie.", "threshold": 7}),
            json_type,
        ),
    ]


def request_mix(count: int, texts: list[str], max_body: int, seed: int = 13) -> list[Request]:
    """``count`` requests: about 35% analyses, 30% reads and pages, 35% hostile input."""
    rng = random.Random(seed)
    hostile = hostile_requests(max_body)
    mix: list[Request] = []
    for number in range(count):
        roll = rng.random()
        text = texts[number % len(texts)]
        if roll < 0.30:
            body = _json({"text": text, "threshold": rng.choice([None, 0.3, 0.6])})
            mix.append(Request("analyze", False, "POST", "/api/analyze", body, "application/json"))
        elif roll < 0.35:
            form = urlencode({"text": text}).encode()
            mix.append(
                Request(
                    "form", False, "POST", "/analyze", form, "application/x-www-form-urlencoded"
                )
            )
        elif roll < 0.45:
            query = f"limit={rng.randint(1, 100)}&offset={rng.randint(0, 50)}"
            mix.append(Request("list", False, "GET", f"/api/analyses?{query}"))
        elif roll < 0.55:
            path = rng.choice(["/", "/history", "/about", "/api/techniques", "/healthz"])
            mix.append(Request("page", False, "GET", path))
        elif roll < 0.65:
            mix.append(Request("stored", False, "GET", "/api/analyses/{latest}"))
        else:
            mix.append(rng.choice(hostile)(rng))
    return mix


async def send_all(
    base_url: str,
    requests: list[Request],
    concurrency: int,
    budget: float,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[list[Answer], float]:
    """Send every request from ``concurrency`` clients; stop at ``budget`` seconds."""
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    answers: list[Answer] = []
    latest: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            request = queue.get_nowait()
            path = request.path
            if "{latest}" in path:
                path = path.replace("{latest}", latest[-1] if latest else "none-yet")
            headers = {"content-type": request.content_type} if request.content_type else {}
            began = time.perf_counter()
            try:
                response = await client.request(
                    request.method, path, content=request.body, headers=headers
                )
                status: int | None = response.status_code
                detail = response.text[:200] if status >= 500 else ""
                if request.kind == "analyze" and status == 201:
                    latest.append(response.json()["id"])
            except httpx.HTTPError as error:
                status, detail = None, f"{type(error).__name__}: {error}"
            answers.append(
                Answer(request.kind, request.hostile, status, time.perf_counter() - began, detail)
            )
            if on_progress is not None:
                on_progress(len(answers))

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:
        began = time.perf_counter()
        workers = [asyncio.create_task(client_loop(client)) for _ in range(concurrency)]
        _, pending = await asyncio.wait(workers, timeout=budget)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        wall = time.perf_counter() - began
    return answers, wall


def status_class(status: int | None) -> str:
    return "no answer" if status is None else f"{status // 100}xx"


def summarise_soak(answers: list[Answer], wall: float, requested: int) -> dict[str, Any]:
    def latency(selected: list[Answer]) -> dict[str, float | None]:
        values = [a.seconds * 1000 for a in selected if a.status is not None]
        return {
            "p50": _round(percentile(values, 0.50) if values else None),
            "p95": _round(percentile(values, 0.95) if values else None),
            "max": _round(max(values) if values else None),
        }

    classes = Counter(status_class(a.status) for a in answers)
    hostile_ok = sum(
        1 for a in answers if a.hostile and a.status is not None and 400 <= a.status < 500
    )
    return {
        "requested": requested,
        "answered": sum(1 for a in answers if a.status is not None),
        "not_sent": requested - len(answers),
        "status_classes": {
            name: classes.get(name, 0) for name in ("2xx", "3xx", "4xx", "5xx", "no answer")
        },
        "statuses": dict(sorted(Counter(str(a.status) for a in answers).items())),
        "hostile": sum(1 for a in answers if a.hostile),
        "hostile_answered_4xx": hostile_ok,
        "by_kind": {
            kind: dict(sorted(Counter(str(a.status) for a in answers if a.kind == kind).items()))
            for kind in sorted({a.kind for a in answers})
        },
        "failures": sorted(
            {
                f"{a.kind}: {a.status} {a.detail}"
                for a in answers
                if a.status is None or a.status >= 500
            }
        )[:10],
        "wall_seconds": round(wall, 2),
        "throughput_rps": round(len(answers) / wall, 2) if wall else 0.0,
        "latency_ms": {
            "all": latency(answers),
            "valid": latency([a for a in answers if not a.hostile]),
            "hostile": latency([a for a in answers if a.hostile]),
            "analyses": latency([a for a in answers if a.kind == "analyze"]),
        },
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def soak(args: argparse.Namespace, scratch: Path, texts: list[str]) -> dict[str, Any]:
    server, base_url, health = start_healthy_server(
        scratch / "soak.db", args.model, scratch / "soak.log"
    )
    try:
        max_body = 12 * 200_000 + 65_536 + 1
        requests = request_mix(args.requests, texts, max_body)
        warm_up = request_mix(max(1, int(WARM_UP_SHARE * len(requests))), texts, max_body, 7)
        memory: dict[str, Any] = {"at_start_mb": resident_mb(server.pid)}
        warm_answers, _ = asyncio.run(
            send_all(base_url, warm_up, args.concurrency, args.budget / 4)
        )
        memory["after_warm_up_mb"] = resident_mb(server.pid)
        samples: list[float] = []
        every = max(1, len(requests) // 10)

        def measure(done: int) -> None:
            if done % every == 0:
                samples.append(resident_mb(server.pid))

        answers, wall = asyncio.run(
            send_all(base_url, requests, args.concurrency, args.budget, on_progress=measure)
        )
        memory["during_soak_mb"] = samples
        memory["at_end_mb"] = resident_mb(server.pid)
        alive = server.poll() is None
    finally:
        stop(server)
    baseline = memory["after_warm_up_mb"]
    memory["growth_after_warm_up"] = round((memory["at_end_mb"] - baseline) / baseline, 4)
    return {
        "model": health["model"],
        "concurrency": args.concurrency,
        "warm_up_requests": len(warm_up),
        "warm_up_status_classes": dict(Counter(status_class(a.status) for a in warm_answers)),
        "server_alive_at_end": alive,
        "memory": memory,
        **summarise_soak(answers, wall, len(requests)),
    }


# --- kill -9 ----------------------------------------------------------------------------------


async def write_until_killed(
    base_url: str,
    texts: list[str],
    clients: int,
    answered_target: int,
    budget: float,
    kill: Callable[[], None],
) -> tuple[dict[str, str], int]:
    """Store analyses from ``clients`` clients; kill the server mid-stream.

    Returns the answered analyses (id -> text sent) and how many requests were in flight
    (sent, not answered) when the server died.
    """
    answered: dict[str, str] = {}
    in_flight = 0
    killed = asyncio.Event()
    killed_in_flight: list[int] = []
    counter = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal in_flight, counter
        while not killed.is_set():
            counter += 1
            text = f"[{counter}] {texts[counter % len(texts)]}"
            in_flight += 1
            try:
                response = await client.post("/api/analyze", json={"text": text})
            except httpx.HTTPError:
                return
            finally:
                in_flight -= 1
            if response.status_code == 201:
                answered[response.json()["id"]] = text
            if len(answered) >= answered_target and not killed.is_set():
                await asyncio.sleep(0.05)  # let the other clients' requests be mid-write
                killed_in_flight.append(in_flight)
                kill()
                killed.set()

    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        workers = [asyncio.create_task(client_loop(client)) for _ in range(clients)]
        _, pending = await asyncio.wait(workers, timeout=budget)
        if pending:  # the budget ran out before the target: kill now
            killed_in_flight.append(in_flight)
            kill()
            killed.set()
            await asyncio.wait(pending, timeout=30)
    return answered, killed_in_flight[0] if killed_in_flight else 0


def crash(args: argparse.Namespace, scratch: Path, texts: list[str]) -> dict[str, Any]:
    database = scratch / "crash.db"
    server, base_url, _ = start_healthy_server(database, args.model, scratch / "crash.log")
    try:
        short = [text[:600] for text in texts]
        answered, in_flight = asyncio.run(
            write_until_killed(
                base_url,
                short,
                args.crash_clients,
                args.crash_writes,
                args.budget,
                kill=lambda: os.kill(server.pid, signal.SIGKILL),
            )
        )
        server.wait(timeout=30)
        killed_by = -server.returncode if server.returncode and server.returncode < 0 else None
    finally:
        stop(server)
    with sqlite3.connect(database) as connection:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    restarted, base_url, _ = start_healthy_server(database, args.model, scratch / "restart.log")
    try:
        recovered = 0
        with httpx.Client(base_url=base_url, timeout=60) as client:
            for analysis_id, text in answered.items():
                response = client.get(f"/api/analyses/{analysis_id}")
                recovered += response.status_code == 200 and response.json()["text"] == text
            total_after = client.get("/healthz").json()["analyses"]
    finally:
        stop(restarted)
    return {
        "killed_by_signal": signal.Signals(killed_by).name if killed_by else None,
        "answered_before_kill": len(answered),
        "in_flight_at_kill": in_flight,
        "recovered": recovered,
        "lost": len(answered) - recovered,
        "stored_after_restart": total_after,
        "integrity_check": integrity,
    }


def stall(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Slow clients against a server with the default connection limits."""
    database, log = scratch / "slow.db", scratch / "slow.log"
    server, base_url, _ = start_healthy_server(database, args.model, log)
    limits = ConnectionLimits()
    try:
        return slow_clients(
            base_url,
            stalled_headers=args.slow_headers,
            stalled_bodies=args.slow_bodies,
            header_timeout=limits.header_timeout,
            body_timeout=limits.body_timeout,
        )
    finally:
        stop(server)


def foreign(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Requests from other web sites against a fresh server."""
    database, log = scratch / "origin.db", scratch / "origin.log"
    server, base_url, _ = start_healthy_server(database, args.model, log)
    try:
        return foreign_origin(base_url, FALLBACK_TEXTS[0])
    finally:
        stop(server)


# --- results ----------------------------------------------------------------------------------


def verdict(result: dict[str, Any]) -> list[str]:
    """What failed, in words (empty when the service held up)."""
    soak_result, crash_result = result["soak"], result["crash"]
    problems = []
    if soak_result["status_classes"]["5xx"]:
        problems.append(f"{soak_result['status_classes']['5xx']} responses were 5xx")
    if soak_result["status_classes"]["no answer"]:
        problems.append(f"{soak_result['status_classes']['no answer']} requests got no answer")
    if soak_result["hostile_answered_4xx"] != soak_result["hostile"]:
        problems.append("some hostile requests were not answered with a 4xx")
    if soak_result["memory"]["growth_after_warm_up"] >= MAX_MEMORY_GROWTH:
        problems.append(f"memory grew by {soak_result['memory']['growth_after_warm_up']:.0%}")
    if crash_result["lost"] or crash_result["integrity_check"] != "ok":
        problems.append(f"{crash_result['lost']} answered analyses lost after kill -9")
    return (
        problems
        + slow_client_problems(result["slow_clients"])
        + batch_soak_problems(result["batch_soak"])
        + foreign_origin_problems(result["foreign_origin"])
    )


def write_results(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "reliability.json"
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    soak_result, crash_result = result["soak"], result["crash"]
    classes = soak_result["status_classes"]
    latency = soak_result["latency_ms"]
    memory = soak_result["memory"]
    lines = [
        "# Reliability benchmark",
        "",
        f"`python benchmarks/reliability.py` on {result['date']}, model "
        f"{soak_result['model']['name']} {soak_result['model']['version']}, all traffic on "
        "127.0.0.1.",
        "",
        f"## Soak: {soak_result['requested']} requests, "
        f"{soak_result['concurrency']} concurrent clients",
        "",
        f"{soak_result['hostile']} of the requests were hostile (lone surrogates, bytes that are "
        "not UTF-8, deep JSON, huge paging numbers, invisible text, oversized bodies, wrong "
        "media types, private URLs); the rest analysed articles, listed the history and "
        "loaded pages.",
        "",
        "| 2xx | 3xx | 4xx | 5xx | no answer | hostile answered 4xx | wall (s) | req/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {classes['2xx']} | {classes['3xx']} | {classes['4xx']} | {classes['5xx']} | "
        f"{classes['no answer']} | "
        f"{soak_result['hostile_answered_4xx']} of {soak_result['hostile']} | "
        f"{soak_result['wall_seconds']} | {soak_result['throughput_rps']} |",
        "",
        "| latency (ms) | p50 | p95 | max |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {values['p50']} | {values['p95']} | {values['max']} |"
            for name, values in latency.items()
        ),
        "",
        f"Server memory (RSS): {memory['at_start_mb']} MB at start, "
        f"{memory.get('after_warm_up_mb')} MB after {soak_result['warm_up_requests']} warm-up "
        f"requests (same mix, not counted above), {memory['at_end_mb']} MB at the end: "
        f"{memory['growth_after_warm_up']:+.1%} after warm-up (limit +{MAX_MEMORY_GROWTH:.0%}). "
        "Every tenth of the soak: "
        + ", ".join(f"{value:g}" for value in memory["during_soak_mb"])
        + " MB.",
        "",
        "## kill -9 during a stream of writes",
        "",
        "| answered (201) before the kill | in flight at the kill | recovered after restart "
        "| lost | integrity_check |",
        "|---:|---:|---:|---:|---|",
        f"| {crash_result['answered_before_kill']} | {crash_result['in_flight_at_kill']} | "
        f"{crash_result['recovered']} | {crash_result['lost']} | "
        f"{crash_result['integrity_check']} |",
        "",
        *slow_client_lines(result["slow_clients"]),
        *batch_soak_lines(result["batch_soak"]),
        *foreign_origin_lines(result["foreign_origin"]),
        "Verdict: "
        + (
            "; ".join(result["problems"])
            if result["problems"]
            else "no 5xx, no dropped connection, memory flat after warm-up, every answered "
            "analysis recovered, every stalled client dropped while the others were served, "
            "the killed batch run's tables identical to the uninterrupted one's, and every "
            "foreign request refused."
        ),
        "",
        f"Machine: {result['machine']['cpus']} CPUs, {result['machine']['platform']}, "
        f"Python {result['machine']['python']}.",
        "",
    ]
    md_path = out / "reliability.md"
    md_path.write_text("\n".join(lines), encoding="utf-8")
    return json_path, md_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--data", help="PTC corpus directory (default: $PROPSCAN_DATA)")
    parser.add_argument("--requests", type=int, default=2000, help="soak requests in all")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent soak clients")
    parser.add_argument("--article-chars", type=int, default=800, help="cut articles to this")
    parser.add_argument("--crash-writes", type=int, default=40, help="answered writes before kill")
    parser.add_argument("--crash-clients", type=int, default=4, help="concurrent writers")
    parser.add_argument("--budget", type=float, default=480.0, help="time limit per part (s)")
    parser.add_argument("--slow-headers", type=int, default=20, help="stalled header senders")
    parser.add_argument("--slow-bodies", type=int, default=100, help="stalled body senders")
    parser.add_argument("--batch-records", type=int, default=10_000, help="batch soak records")
    parser.add_argument("--hostile-share", type=float, default=0.01, help="hostile share")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs of the batch run")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory")
    args = parser.parse_args(argv)
    if min(args.requests, args.concurrency, args.crash_writes, args.crash_clients) < 1:
        parser.error("counts must be at least 1")
    texts = article_texts(args.data, 25, args.article_chars)
    try:
        with tempfile.TemporaryDirectory() as folder:
            scratch = Path(folder)
            soak_result = soak(args, scratch, texts)
            crash_result = crash(args, scratch, texts)
            slow_result = stall(args, scratch)
            foreign_result = foreign(args, scratch)
            batch_result = batch_soak(
                scratch,
                model=args.model,
                records=args.batch_records,
                hostile_share=args.hostile_share,
                kills=args.kills,
            )
    except (PropscanError, OSError, RuntimeError, httpx.HTTPError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    result: dict[str, Any] = {
        "benchmark": "reliability",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "soak": soak_result,
        "crash": crash_result,
        "slow_clients": slow_result,
        "batch_soak": batch_result,
        "foreign_origin": foreign_result,
    }
    result["problems"] = verdict(result)
    for path in write_results(result, args.out):
        print(path)
    classes = soak_result["status_classes"]
    print(
        f"soak: {classes['2xx']} 2xx, {classes['3xx']} 3xx, {classes['4xx']} 4xx, "
        f"{classes['5xx']} 5xx, {classes['no answer']} unanswered; p50 "
        f"{soak_result['latency_ms']['all']['p50']} ms, "
        f"p95 {soak_result['latency_ms']['all']['p95']} ms; "
        f"memory {soak_result['memory']['growth_after_warm_up']:+.1%}; kill -9: "
        f"{crash_result['recovered']} of {crash_result['answered_before_kill']} recovered; "
        f"slow clients: {slow_result['headers']['closed'] + slow_result['body']['closed']} of "
        f"{args.slow_headers + args.slow_bodies} dropped; batch soak: "
        f"{batch_result['records_out']} of {batch_result['records']} records out"
    )
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
