"""Running the service: the port taken first, then one process or several uvicorn workers.

The port is bound before uvicorn starts, so a port in use is one clear error. With
``workers > 1`` uvicorn's own supervisor spawns the worker processes; they share the
one listening socket, each builds the application with :func:`worker_app` (loading
the model once) and gets the cores divided among them through ``PROPSCAN_THREADS``.
Spawned processes receive no Python objects from the command, so the options reach
them as JSON in the ``PROPSCAN_SERVE_OPTIONS`` environment variable.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass

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
_DEFAULT_LIMITS = ConnectionLimits()


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
    return ServeOptions(**json.loads(os.environ[OPTIONS_VARIABLE])).create_app()


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
        uvicorn.Server(config).run(sockets=[listener])
        return
    os.environ[OPTIONS_VARIABLE] = json.dumps(asdict(options))
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
