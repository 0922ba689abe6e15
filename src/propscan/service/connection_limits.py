"""How long a client may take to send a request, and how many connections are served.

A plain value, light to import: ``propscan serve`` takes its defaults as option
defaults; :mod:`propscan.service.connections` enforces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from propscan.errors import PropscanError


@dataclass(frozen=True)
class ConnectionLimits:
    """The limits ``propscan serve`` puts on its clients, in each worker process.

    ``header_timeout``: seconds from the connection (or the end of the previous answer
    on it) to the end of the request headers; ``body_timeout``: seconds from there to
    the end of the body; ``max_connections``: open connections per worker process
    before new requests are answered 503; ``keep_alive``: seconds an idle connection
    is kept.
    """

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 500
    keep_alive: float = 5.0

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout", "keep_alive"):
            if not getattr(self, name) > 0:
                raise PropscanError(f"{name} must be more than 0 seconds")
        if self.max_connections < 1:
            raise PropscanError("max_connections must be at least 1")
