"""Run the service with uvicorn in a background thread (tests, screenshots, notebooks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from propscan.errors import PropscanError
from propscan.service.connection_limits import ConnectionLimits
from propscan.service.connections import ServerConfig
from propscan.service.serving import listen

_DEFAULT_LIMITS = ConnectionLimits()


@contextmanager
def running_server(
    app: FastAPI,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    startup_timeout: float = 60.0,
    limits: ConnectionLimits = _DEFAULT_LIMITS,
) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` (``0`` picks a free port) while the block runs.

    Yields the base URL. The socket is bound before uvicorn starts, so the port is known
    and cannot be taken by anyone else in between. The server has the connection
    ``limits`` of ``propscan serve``.
    """
    listener = listen(host, port)
    bound_port = listener.getsockname()[1]
    config = ServerConfig(app, limits=limits, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="propscan-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            listener.close()
            raise PropscanError(f"the propscan service did not start on {host}:{bound_port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
