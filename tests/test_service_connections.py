"""Slow clients are dropped while others are served; connections are capped.

A client that sends a request's headers or body too slowly (or never) gets 408 and its
connection is closed when the deadline passes; the server answers everyone else
meanwhile, and an analysis that takes long is never cut short.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from stubs import FixedDetector
from support.server import running_server

from propscan.errors import PropscanError
from propscan.service.app import create_app
from propscan.service.connection_limits import ConnectionLimits

LIMITS = ConnectionLimits(header_timeout=1.0, body_timeout=1.0, max_connections=100)
PARTIAL_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: test\r\n"
PARTIAL_BODY = (
    b"POST /api/analyze HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
    b"Content-Length: 200\r\n\r\n" + b'{"text": "They lie'
)


@contextmanager
def server(tmp_path: Path, limits: ConnectionLimits = LIMITS) -> Iterator[str]:
    app = create_app(model=FixedDetector([]), db_path=tmp_path / "history.db")
    with running_server(app, limits=limits) as url:
        yield url


def stalled(url: str, sent: bytes, stack: ExitStack) -> socket.socket:
    """A connection that sends ``sent`` and then nothing more."""
    host, port = url.removeprefix("http://").split(":")
    connection = stack.enter_context(socket.create_connection((host, int(port)), timeout=10))
    connection.sendall(sent)
    return connection


def answer_and_close(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := connection.recv(4096):
        received += chunk
    return received


def test_stalled_clients_are_dropped_while_others_are_served(tmp_path: Path) -> None:
    with server(tmp_path) as url, ExitStack() as stack, httpx.Client(base_url=url) as client:
        started = time.monotonic()
        headers_only = [stalled(url, PARTIAL_HEADERS, stack) for _ in range(10)]
        bodies = [stalled(url, PARTIAL_BODY, stack) for _ in range(10)]
        silent = [stalled(url, b"", stack) for _ in range(5)]
        assert client.get("/healthz").status_code == 200
        analysed = client.post("/api/analyze", json={"text": "They lie, always."})
        assert analysed.status_code == 201
        assert time.monotonic() - started < 1.0  # answered while the others stall
        for connection in headers_only + silent:
            answer = answer_and_close(connection)
            assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
            assert b"the request headers did not arrive within 1 seconds" in answer
        for connection in bodies:
            answer = answer_and_close(connection)
            assert answer.startswith(b"HTTP/1.1 408 ")
            assert b"the request body did not arrive within 1 seconds" in answer
        assert time.monotonic() - started < 5.0
        assert client.get("/healthz").status_code == 200


def test_a_slow_but_timely_client_and_keep_alive_requests_are_served(tmp_path: Path) -> None:
    body = b'{"text": "They lie, always."}'
    request = (
        b"POST /api/analyze HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    with server(tmp_path) as url, ExitStack() as stack:
        connection = stalled(url, b"", stack)
        for _ in range(2):  # the second request on the same connection has its own deadline
            for piece in (request[:30], request[30:-5], request[-5:]):
                connection.sendall(piece)
                time.sleep(0.4)
            answer = connection.recv(65536)
            assert answer.startswith(b"HTTP/1.1 201 "), answer[:100]


def test_requests_over_the_connection_cap_are_answered_503(tmp_path: Path) -> None:
    limits = ConnectionLimits(header_timeout=5.0, body_timeout=5.0, max_connections=4)
    with server(tmp_path, limits) as url, ExitStack() as stack:
        [stalled(url, PARTIAL_HEADERS, stack) for _ in range(4)]
        response = httpx.get(f"{url}/healthz")
        assert response.status_code == 503


@pytest.mark.parametrize(
    "options", [{"header_timeout": 0}, {"body_timeout": -1}, {"max_connections": 0}]
)
def test_limits_are_checked(options: dict[str, float]) -> None:
    with pytest.raises(PropscanError):
        ConnectionLimits(**options)  # type: ignore[arg-type]
