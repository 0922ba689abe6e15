"""Taking the service's port before uvicorn starts, so a port in use is one clear error."""

from __future__ import annotations

import socket

from propscan.errors import PropscanError


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
