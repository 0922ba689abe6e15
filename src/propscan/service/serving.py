"""Running the service: the port taken first, then one process or several uvicorn workers.

The port is bound before uvicorn starts, so a port in use is one clear error. With
``workers > 1`` uvicorn's own supervisor spawns the worker processes; they share the
one listening socket, each builds the application with :func:`worker_app` (loading
the model once) and gets the cores divided among them through ``PROPSCAN_THREADS``.
Spawned processes receive no Python objects from the command, so the options reach
them as JSON in the ``PROPSCAN_SERVE_OPTIONS`` environment variable, and each worker
stops when the supervisor that started it is gone (even if it was killed with SIGKILL).
With one process, SIGTERM and SIGINT stop it gracefully with exit status 0, as they stop
the workers, and SIGHUP (which restarts the workers) is logged and ignored.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from types import FrameType

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from propscan.batch.engines import share_cores
from propscan.core.checks import DEFAULT_MAX_CHARS
from propscan.errors import PropscanError
from propscan.models.base import Detector
from propscan.service.app import create_app
from propscan.service.connection_limits import ConnectionLimits
from propscan.service.connections import ServerConfig

#: Environment variable through which ``propscan serve`` hands its options to workers.
OPTIONS_VARIABLE = "PROPSCAN_SERVE_OPTIONS"
#: Environment variable naming the supervisor's process id, which each worker watches.
SUPERVISOR_VARIABLE = "PROPSCAN_SERVE_SUPERVISOR"
#: Seconds between a worker's looks at whether its supervisor still runs.
SUPERVISOR_CHECK_SECONDS = 0.5
#: Seconds a worker whose supervisor is gone has to finish its requests before it exits anyway.
ORPHAN_GRACE_SECONDS = 30.0
_DEFAULT_LIMITS = ConnectionLimits()
#: uvicorn's log, where the server's own start and stop lines go.
server_log = logging.getLogger("uvicorn.error")


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (``0`` picks a free port), or a one-line error."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (OSError, UnicodeError) as error:
        raise PropscanError(f"cannot serve on {host}:{port} ({error})") from error
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        reason = (error.strerror or str(error)).lower()
        raise PropscanError(f"cannot serve on {host}:{port} ({reason})") from error
    return listener


@dataclass(frozen=True)
class ServeOptions:
    """What shapes the application, the same in every worker (``model``: an installed model's
    name or a directory's absolute path, as :func:`~propscan.models.registry.model_reference`
    gives them; ``None`` for the shipped model)."""

    db: str
    model: str | None = None
    allow_private_urls: bool = False
    max_text_chars: int = DEFAULT_MAX_CHARS
    extension_token_digest: str | None = None
    allowed_hosts: tuple[str, ...] | None = None

    def create_app(self, detector: Detector | None = None) -> FastAPI:
        """The application; a ``detector`` already loaded is used instead of ``model``."""
        return create_app(
            detector if detector is not None else self.model,
            self.db,
            allow_private_urls=self.allow_private_urls,
            max_text_chars=self.max_text_chars,
            extension_token_digest=self.extension_token_digest,
            allowed_hosts=self.allowed_hosts,
        )


def worker_app() -> FastAPI:
    """The application of one worker process (uvicorn's factory), from its environment."""
    options = ServeOptions(**json.loads(os.environ[OPTIONS_VARIABLE]))
    supervisor = os.environ.get(SUPERVISOR_VARIABLE)
    if supervisor is not None:
        watch_supervisor(int(supervisor))
    return options.create_app()


def watch_supervisor(supervisor: int) -> threading.Thread:
    """Stop this worker once ``supervisor``, its parent, is gone.

    A supervisor killed with SIGKILL cannot stop its workers, and they would go on
    holding the port. A thread polls :func:`os.getppid` (it changes when the parent dies
    and the worker is adopted) rather than Linux's ``PR_SET_PDEATHSIG``: that signal
    follows the *thread* that started the worker, not the process, it exists on Linux
    only, and it needs this same check for a parent that died before it was set. The
    worker first stops gracefully (SIGTERM: requests under way are answered) and exits
    anyway after :data:`ORPHAN_GRACE_SECONDS`.
    """

    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(SUPERVISOR_CHECK_SECONDS)
        server_log.warning(
            "The supervisor process [%d] is gone; stopping worker [%d].", supervisor, os.getpid()
        )
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(ORPHAN_GRACE_SECONDS)
        server_log.error("Worker [%d] did not stop in time; exiting now.", os.getpid())
        os._exit(1)

    watcher = threading.Thread(target=watch, name="propscan-supervisor-watch", daemon=True)
    watcher.start()
    return watcher


#: How long a worker process may take to start and load its model before it must answer.
WORKER_START_SECONDS = 60


def run_server(
    listener: socket.socket,
    options: ServeOptions,
    *,
    workers: int = 1,
    detector: Detector | None = None,
    limits: ConnectionLimits = _DEFAULT_LIMITS,
) -> None:
    """Serve on ``listener`` until SIGINT or SIGTERM, in this process or in ``workers``.

    One process serves ``detector`` when given (``propscan serve`` has loaded it to
    check the model). Processes cannot share a loaded model, so with several workers
    each one loads ``options.model`` itself, once, and ``detector`` is not used.
    ``limits`` bound how long a client may take to send a request and how many
    connections each process serves.
    """
    if workers == 1:
        config = ServerConfig(options.create_app(detector), limits=limits, log_level="info")
        server = uvicorn.Server(config)
        with _one_process_signals(server):
            server.run(sockets=[listener])
        return
    os.environ[OPTIONS_VARIABLE] = json.dumps(asdict(options))
    os.environ[SUPERVISOR_VARIABLE] = str(os.getpid())
    os.environ.update(share_cores(workers))
    config = ServerConfig(
        f"{__name__}:worker_app",
        limits=limits,
        factory=True,
        workers=workers,
        log_level="info",
        # a new worker spawns and loads its model before it answers (several seconds on
        # two busy cores): uvicorn's 5 s would give up a SIGHUP restart half way
        timeout_worker_healthcheck=WORKER_START_SECONDS,
    )
    supervisor = Multiprocess(config, sockets=[listener])
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        raise PropscanError("a worker process failed to start; its error is in the log above")


@contextmanager
def _one_process_signals(server: uvicorn.Server) -> Iterator[None]:
    """Signals of a server without workers, made to act as they do with ``--workers``.

    uvicorn stops gracefully on SIGTERM or SIGINT and then raises the signal again, so
    the command would end killed by it (143 for SIGTERM) where the workers' supervisor
    exits 0: the handler in place meanwhile only asks the server to stop (which also
    covers a signal that comes before uvicorn has set its own). SIGHUP restarts the
    workers; one process has none to restart, and without a handler SIGHUP killed it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    def hang_up(signum: int, frame: FrameType | None) -> None:
        server_log.warning(
            "Received SIGHUP; still serving: only --workers 2 or more restarts on SIGHUP "
            "(restart propscan serve to load a changed model)."
        )

    handlers = {signal.SIGTERM: stop, signal.SIGINT: stop}
    if hasattr(signal, "SIGHUP"):
        handlers[signal.SIGHUP] = hang_up
    previous = {number: signal.signal(number, handler) for number, handler in handlers.items()}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
