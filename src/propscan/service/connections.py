"""Connection limits of ``propscan serve``: slow clients are dropped, connections capped.

uvicorn closes idle keep-alive connections, but waits as long as a client likes for a
request's headers and body, so clients that send them slowly (or never) can hold every
connection open. :class:`TimedH11Protocol` gives each request a deadline for its
headers and then one for its body; a client that misses one gets 408 and its connection
is closed. A request being analysed has sent everything and is never cut short.
Over ``max_connections`` open connections, uvicorn answers 503 at once. The limits
themselves are :class:`~propscan.service.connection_limits.ConnectionLimits`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from propscan.service.connection_limits import ConnectionLimits

logger = logging.getLogger("propscan.service")


class ServerConfig(uvicorn.Config):
    """uvicorn's settings with propscan's connection limits (picklable for worker processes)."""

    def __init__(self, app: Any, *, limits: ConnectionLimits, **options: Any) -> None:
        super().__init__(
            app,
            http=TimedH11Protocol,
            limit_concurrency=limits.max_connections,
            # uvicorn annotates int, but only hands the seconds to loop.call_later (a float)
            timeout_keep_alive=limits.keep_alive,  # type: ignore[arg-type]
            **options,
        )
        self.limits = limits


def _timeout_response(what: str, seconds: float) -> bytes:
    message = f"the request {what} did not arrive within {seconds:g} seconds\n".encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"connection: close\r\ncontent-length: {len(message)}\r\n\r\n"
    )
    return head.encode("ascii") + message


class TimedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's headers and body."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.limits: ConnectionLimits = getattr(config, "limits", ConnectionLimits())
        self.deadline: asyncio.TimerHandle | None = None
        self.awaiting: str | None = None  # "headers", "body" or None (nothing owed)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow_request()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._set_deadline(None)
        super().connection_lost(exc)

    def _follow_request(self) -> None:
        """Start the deadline for what the client owes now: headers, a body, or nothing."""
        if self.transport.is_closing():
            owed = None
        elif self.conn.their_state is h11.IDLE:
            owed = "headers"
        elif self.conn.their_state is h11.SEND_BODY:
            owed = "body"
        else:
            owed = None
        if owed != self.awaiting:
            self._set_deadline(owed)

    def _set_deadline(self, owed: str | None) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        self.awaiting = owed
        if owed is not None:
            seconds = self.limits.header_timeout if owed == "headers" else self.limits.body_timeout
            self.deadline = self.loop.call_later(seconds, self._time_out, owed, seconds)

    def _time_out(self, owed: str, seconds: float) -> None:
        self.deadline = None
        if self.transport.is_closing():
            return
        logger.info(
            "closing a connection from %s: the request %s took over %g s",
            self.client,
            owed,
            seconds,
        )
        # a body can be owed after the answer began (a route that did not read it)
        if owed == "headers" or not self.cycle.response_started:
            self.transport.write(_timeout_response(owed, seconds))
        self.transport.close()
