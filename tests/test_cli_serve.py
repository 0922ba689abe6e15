"""``propscan serve``: worker processes share the port, each with its own model, and the
browser extension's token is made once, shown once and honoured by every worker."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from support.serve import propscan_serve

psutil = pytest.importorskip("psutil")

ARTICLE = "They are corrupt traitors and liars, all of them!\nShameful elites destroy our nation.\n"
STARTED = re.compile(r"Started server process \[(\d+)\]")


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
    with propscan_serve(
        log, "--workers", "2", "--model", tiny_model, "--db", database, workers=2
    ) as served:
        url, server = served.url, served.process
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


def test_sighup_restarts_every_worker_one_after_another(tiny_model: Path, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with propscan_serve(
        log, "--workers", "2", "--model", tiny_model, "--db", tmp_path / "h.db", workers=2
    ) as served:
        before = set(STARTED.findall(log.read_text()))
        served.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 120
        while len(set(STARTED.findall(log.read_text())) - before) < 2:
            assert time.monotonic() < deadline and "aborting" not in log.read_text(), (
                log.read_text()
            )
            time.sleep(0.2)
        reply = httpx.post(f"{served.url}/api/analyze", json={"text": ARTICLE}, timeout=60)
        assert reply.status_code == 201
        for pid in map(int, before):  # the old workers finish their requests and stop
            if psutil.pid_exists(pid):
                psutil.Process(pid).wait(timeout=60)
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) == 0, log.read_text()


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


@pytest.mark.slow
def test_the_extension_token_is_shown_once_and_every_worker_honours_it(
    tiny_model: Path, tmp_path: Path
) -> None:
    database = tmp_path / "history.db"
    options = ("--model", tiny_model, "--db", database)
    extension = {"origin": "chrome-extension://abcdefghijklmnopabcdefghijklmnop"}

    def answers(url: str, token: str) -> set[int]:
        """Statuses of requests on new connections, which either worker may take."""
        headers = {**extension, "authorization": f"Bearer {token}"}
        return {
            httpx.get(f"{url}/api/techniques", headers=headers, timeout=60).status_code
            for _ in range(8)
        }

    with propscan_serve(tmp_path / "1.log", *options, "--workers", "2", workers=2) as served:
        token = served.token
        assert token and len(token) >= 40
        assert answers(served.url, token) == {200}
        assert answers(served.url, token[:-1] + "x") == {401}
    assert token not in (tmp_path / "history.db.token").read_text()
    assert (tmp_path / "history.db.token").stat().st_mode & 0o077 == 0

    with propscan_serve(tmp_path / "2.log", *options) as served:
        assert served.token is None  # shown once only
        assert "token is the one shown when it was made" in served.log.read_text()
        assert answers(served.url, token) == {200}

    with propscan_serve(tmp_path / "3.log", *options, "--new-token") as served:
        assert served.token is not None and served.token != token
        assert answers(served.url, token) == {401}
        assert answers(served.url, served.token) == {200}
