"""Slow clients against a running ``propscan serve``: are they dropped while others are served?

Opens connections that send part of a request's headers, or all headers and part of a
body, and then nothing; meanwhile one client keeps sending ordinary requests. Records
when the server closed each stalled connection (and whether it answered 408 first) and
how the ordinary requests fared. Used by ``benchmarks/reliability.py``.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from typing import Any

import httpx
from service_load import percentile

PARTIAL_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow"
PARTIAL_BODY = (
    b"POST /api/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 5000\r\n\r\n" + b'{"text": "They lie'
)


def _stalled(host: str, port: int, sent: bytes) -> socket.socket:
    connection = socket.create_connection((host, port), timeout=10)
    connection.sendall(sent)
    connection.setblocking(False)
    return connection


def _watch(connections: dict[socket.socket, str], limit: float) -> dict[str, list[dict[str, Any]]]:
    """Wait (at most ``limit`` s) for the server to close each connection; what it sent first."""
    started = time.monotonic()
    received = {connection: b"" for connection in connections}
    closed: dict[socket.socket, float] = {}
    with selectors.DefaultSelector() as selector:
        for connection in connections:
            selector.register(connection, selectors.EVENT_READ)
        while len(closed) < len(connections) and time.monotonic() - started < limit:
            for key, _ in selector.select(timeout=0.5):
                connection = key.fileobj
                assert isinstance(connection, socket.socket)
                try:
                    chunk = connection.recv(4096)
                except (ConnectionResetError, BlockingIOError):
                    chunk = b""
                if chunk:
                    received[connection] += chunk
                else:
                    closed[connection] = time.monotonic() - started
                    selector.unregister(connection)
    outcomes: dict[str, list[dict[str, Any]]] = {}
    for connection, kind in connections.items():
        outcomes.setdefault(kind, []).append(
            {
                "closed_after_s": closed.get(connection),
                "answered_408": received[connection].startswith(b"HTTP/1.1 408 "),
            }
        )
        connection.close()
    return outcomes


def _ordinary_traffic(base_url: str, stop: threading.Event, outcomes: list[tuple[bool, float]]):
    """Health checks and short analyses, one after another, until ``stop`` is set."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        number = 0
        while not stop.is_set():
            started = time.perf_counter()
            try:
                if number % 2:
                    response = client.post("/api/analyze", json={"text": "They lie, always."})
                    ok = response.status_code == 201
                else:
                    ok = client.get("/healthz").status_code == 200
            except httpx.HTTPError:
                ok = False
            outcomes.append((ok, time.perf_counter() - started))
            number += 1
            stop.wait(0.2)


def _closing(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    times = [o["closed_after_s"] for o in outcomes if o["closed_after_s"] is not None]
    return {
        "stalled": len(outcomes),
        "closed": len(times),
        "answered_408": sum(o["answered_408"] for o in outcomes),
        "closed_after_s": {
            "min": round(min(times), 2) if times else None,
            "max": round(max(times), 2) if times else None,
        },
    }


def slow_clients(
    base_url: str,
    *,
    stalled_headers: int,
    stalled_bodies: int,
    header_timeout: float,
    body_timeout: float,
) -> dict[str, Any]:
    """Stall connections against the server at ``base_url`` and watch what becomes of them."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    address = (host, int(port))
    connections = {_stalled(*address, PARTIAL_HEADERS): "headers" for _ in range(stalled_headers)}
    connections |= {_stalled(*address, PARTIAL_BODY): "body" for _ in range(stalled_bodies)}
    stop = threading.Event()
    served: list[tuple[bool, float]] = []
    traffic = threading.Thread(target=_ordinary_traffic, args=(base_url, stop, served))
    traffic.start()
    try:
        outcomes = _watch(connections, limit=max(header_timeout, body_timeout) + 15)
    finally:
        stop.set()
        traffic.join(timeout=60)
    latencies = [seconds for _, seconds in served]
    return {
        "header_timeout_s": header_timeout,
        "body_timeout_s": body_timeout,
        "headers": _closing(outcomes.get("headers", [])),
        "body": _closing(outcomes.get("body", [])),
        "served_meanwhile": {
            "requests": len(served),
            "ok": sum(ok for ok, _ in served),
            "p50_ms": round(1000 * percentile(latencies, 0.5), 1) if latencies else None,
            "max_ms": round(1000 * max(latencies), 1) if latencies else None,
        },
    }


def slow_client_problems(result: dict[str, Any]) -> list[str]:
    """What went wrong, in words: a stalled connection kept, late, or an ordinary one refused."""
    problems = []
    for kind, timeout in (("headers", "header_timeout_s"), ("body", "body_timeout_s")):
        closing = result[kind]
        if closing["closed"] < closing["stalled"]:
            problems.append(f"{closing['stalled'] - closing['closed']} stalled {kind} kept open")
        latest = closing["closed_after_s"]["max"]
        if latest is not None and latest > result[timeout] + 5:
            problems.append(f"stalled {kind} closed only after {latest} s")
    served = result["served_meanwhile"]
    if served["ok"] < served["requests"]:
        problems.append(f"{served['requests'] - served['ok']} ordinary requests failed meanwhile")
    return problems


def slow_client_lines(result: dict[str, Any]) -> list[str]:
    served = result["served_meanwhile"]
    rows = [
        f"| {kind} | {closing['stalled']} | {closing['closed']} | {closing['answered_408']} | "
        f"{closing['closed_after_s']['min']}–{closing['closed_after_s']['max']} | {timeout:g} |"
        for kind, closing, timeout in (
            ("headers", result["headers"], result["header_timeout_s"]),
            ("body", result["body"], result["body_timeout_s"]),
        )
    ]
    return [
        "## Slow clients",
        "",
        "Connections that sent part of a request and then stalled, against `propscan serve` "
        "with its default limits:",
        "",
        "| stalled part | connections | closed by the server | answered 408 | closed after (s) "
        "| timeout (s) |",
        "|---|---:|---:|---:|---|---:|",
        *rows,
        "",
        f"Meanwhile one client sent {served['requests']} ordinary requests (health checks and "
        f"analyses): {served['ok']} answered, p50 {served['p50_ms']} ms, max "
        f"{served['max_ms']} ms.",
        "",
    ]
