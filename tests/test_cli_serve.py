"""``propscan serve``: worker processes share the port, each with its own model, and the
browser extension's token is made once, shown once and honoured by every worker; signals
stop it with status 0, workers outlive no supervisor, and a database that is not a sound
propscan history is refused before anything starts and left as it was."""

from __future__ import annotations

import gc
import re
import signal
import sqlite3
import subprocess
import sys
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.serve import propscan_serve
from typer.testing import CliRunner

from propscan.cli import app

psutil = pytest.importorskip("psutil")

ARTICLE = "They are corrupt traitors and liars, all of them!\nShameful elites destroy our nation.\n"
STARTED = re.compile(r"Started server process \[(\d+)\]")


def gone(pid: int) -> bool:
    """The process has exited (it may still wait to be reaped)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


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
        "from propscan.service import serving\n"
        "from propscan.service.serving import ServeOptions, listen, run_server\n"
        "serving.WORKER_START_SECONDS = 5  # the health check waits this long on a ping\n"
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


@pytest.mark.slow
def test_workers_stop_when_the_supervisor_is_killed(tiny_model: Path, tmp_path: Path) -> None:
    """SIGKILL leaves the supervisor no time to stop its workers: they notice and stop."""
    log = tmp_path / "serve.log"
    workers: list[int] = []
    try:
        with propscan_serve(
            log, "--workers", "2", "--model", tiny_model, "--db", tmp_path / "h.db", workers=2
        ) as served:
            workers = [int(found) for found in STARTED.findall(log.read_text())]
            assert len(set(workers)) == 2, log.read_text()
            served.process.kill()
            served.process.wait(timeout=10)
            deadline = time.monotonic() + 15
            while not all(gone(worker) for worker in workers):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        with pytest.raises(httpx.ConnectError):  # nobody holds the port any more
            httpx.get(f"{served.url}/healthz", timeout=5)
        assert log.read_text().count("is gone; stopping worker") == 2, log.read_text()
    finally:
        for worker in workers:  # without the fix they would live on
            with suppress(psutil.NoSuchProcess):
                psutil.Process(worker).kill()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_one_process_stops_cleanly_with_status_0(
    tiny_model: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    """As the supervisor of --workers does; uvicorn alone ends killed by the signal (143)."""
    log = tmp_path / "serve.log"
    with propscan_serve(log, "--model", tiny_model, "--db", tmp_path / "h.db") as served:
        assert httpx.get(f"{served.url}/healthz", timeout=30).status_code == 200
        served.process.send_signal(stop)
        assert served.process.wait(timeout=60) == 0, log.read_text()
    text = log.read_text()
    assert "Application shutdown complete." in text and "Traceback" not in text, text


def test_sighup_without_workers_keeps_serving_and_says_why(
    tiny_model: Path, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with propscan_serve(log, "--model", tiny_model, "--db", tmp_path / "h.db") as served:
        served.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "Received SIGHUP" not in log.read_text():
            assert served.process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert "only --workers 2 or more restarts on SIGHUP" in log.read_text()
        reply = httpx.post(f"{served.url}/api/analyze", json={"text": ARTICLE}, timeout=60)
        assert reply.status_code == 201 and served.process.poll() is None
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) == 0, log.read_text()


def a_damaged_history(path: Path) -> Path:
    """A history that opens (its first pages are sound) with a table page zeroed."""
    from stubs import FixedDetector

    from propscan.core.spans import Span
    from propscan.pipeline import analyze
    from propscan.service.store import Store

    store = Store(path)
    for number in range(40):
        store.save(
            analyze(
                f"{ARTICLE} {number}" * 20, FixedDetector([Span(9, 25, "Loaded_Language", 0.6)])
            )
        )
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with path.open("r+b") as file:
        file.seek(2 * 4096)
        file.write(bytes(4096))
    return path


def a_foreign_database(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.execute("INSERT INTO notes VALUES ('mine')")
        connection.commit()
    return path


def truncated(path: Path) -> Path:
    a_damaged_history(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (a_foreign_database, "is not a propscan database (it holds other tables: notes)"),
        (a_damaged_history, "is damaged ("),
        (truncated, "is damaged (database disk image is malformed)"),
    ],
    ids=["foreign", "damaged", "truncated"],
)
def test_serve_refuses_a_database_it_cannot_use_and_leaves_it_as_it_was(
    make: Any, problem: str, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from propscan.service import serving

    served: list[object] = []
    monkeypatch.setattr(serving, "run_server", lambda *args, **kwargs: served.append(args))
    database = make(tmp_path / "history.db")
    before = database.read_bytes()
    result = CliRunner().invoke(
        app, ["serve", "--port", "0", "--model", str(tiny_model), "--db", str(database)]
    )
    assert result.exit_code == 2 and not served, result.output
    assert "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert problem in line and "pass --db" in line, line
    assert database.read_bytes() == before
    assert not Path(f"{database}.token").exists()


def test_with_workers_the_command_lets_go_of_the_model_it_checked(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each worker loads its own model: a copy kept by the supervisor would only take memory."""
    from propscan.models import registry
    from propscan.service import serving

    loaded: list[weakref.ref[Any]] = []
    load = registry.load_detector

    def tracked(directory: Any = None) -> Any:
        detector = load(directory)
        loaded.append(weakref.ref(detector))
        return detector

    held: list[tuple[Any, list[Any]]] = []

    def run_server(
        listener: Any, options: Any, *, workers: int, detector: Any, limits: Any
    ) -> None:
        listener.close()
        gc.collect()
        held.append((detector, [ref() for ref in loaded]))

    monkeypatch.setattr(registry, "load_detector", tracked)
    monkeypatch.setattr(serving, "run_server", run_server)
    options = ["--port", "0", "--model", str(tiny_model), "--db", str(tmp_path / "h.db")]
    result = CliRunner().invoke(app, ["serve", *options, "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "model propscan-baseline" in result.output and "2 worker processes" in result.output
    [(detector, alive)] = held
    assert loaded and detector is None and alive == [None] * len(loaded)
