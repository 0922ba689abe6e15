"""``propscan serve --workers``: worker processes share the port, each with its own model."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

psutil = pytest.importorskip("psutil")

ARTICLE = "They are corrupt traitors and liars, all of them!\nShameful elites destroy our nation.\n"
STARTED = re.compile(r"Started server process \[(\d+)\]")


@contextmanager
def serving(
    log: Path, *args: str | Path, timeout: float = 120
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``propscan serve ARGS`` on a free port; its URL and process once both workers are up."""
    command = [sys.executable, "-c", "from propscan.cli import main; main()", "serve"]
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [*command, "--port", "0", *map(str, args)], stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + timeout
        while (text := log.read_text()).count("Application startup complete.") < 2:
            assert server.poll() is None and time.monotonic() < deadline, text
            time.sleep(0.1)
        match = re.search(r"serving (http://\S+),", text)
        assert match, text
        yield match.group(1), server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def connection_owners(workers: list[int], port: int) -> dict[int, int]:
    """Client port -> the worker process holding that connection to ``port``."""
    return {
        connection.raddr.port: pid
        for pid in workers
        for connection in psutil.Process(pid).net_connections("tcp")
        if connection.raddr and connection.laddr.port == port
    }


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_two_workers_answer_concurrent_requests_and_stop_cleanly(
    tiny_model: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    log = tmp_path / "serve.log"
    database = tmp_path / "history.db"
    with serving(log, "--workers", "2", "--model", tiny_model, "--db", database) as (url, server):
        workers = [int(found) for found in STARTED.findall(log.read_text())]
        assert len(set(workers)) == 2, log.read_text()
        assert {child.pid for child in psutil.Process(server.pid).children()} >= set(workers)
        port = int(url.rsplit(":", 1)[1])
        owners: dict[int, int] = {}
        sent = 0
        with ExitStack() as stack, ThreadPoolExecutor(8) as pool:
            # a connection goes to whichever worker accepts it first: open more until
            # both have answered some
            for _ in range(5):
                clients = [
                    stack.enter_context(httpx.Client(base_url=url, timeout=60)) for _ in range(8)
                ]
                replies = list(
                    pool.map(lambda c: c.post("/api/analyze", json={"text": ARTICLE}), clients)
                )
                sent += len(replies)
                assert [reply.status_code for reply in replies] == [201] * 8
                assert all(reply.json()["text"] == ARTICLE for reply in replies)
                owners.update(connection_owners(workers, port))
                if set(owners.values()) == set(workers):
                    break
            assert set(owners.values()) == set(workers), owners
            history = httpx.get(f"{url}/api/analyses", params={"limit": 1}).json()
            assert history["total"] == sent
        server.send_signal(stop)
        assert server.wait(timeout=60) == 0, log.read_text()
    assert not any(psutil.pid_exists(worker) for worker in workers)
    text = log.read_text()
    assert "Traceback" not in text, text
    assert all(f"Finished server process [{worker}]" in text for worker in workers), text


def test_a_worker_that_cannot_start_stops_the_server_with_an_error(
    tiny_model: Path, tmp_path: Path
) -> None:
    # ``propscan serve`` checks --db before any worker starts; called directly,
    # run_server meets a database that no worker can open
    script = (
        "import sys\n"
        "from propscan.errors import PropscanError\n"
        "from propscan.service.serving import ServeOptions, listen, run_server\n"
        "options = ServeOptions(db=sys.argv[1], model=sys.argv[2])\n"
        "try:\n"
        "    run_server(listen('127.0.0.1', 0), options, workers=2)\n"
        "except PropscanError as error:\n"
        "    sys.exit(f'Error: {error}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), str(tiny_model)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "Error: a worker process failed to start; its error is in the log above"
    )
