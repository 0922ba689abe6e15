"""``HEAD`` answered on every ``GET`` route: the same status and headers, no body.

FastAPI routes answer only the methods they declare, so without this a ``HEAD`` that
link checkers, monitors and caches send gets 405.
"""

from __future__ import annotations

from propscan.service.asgi import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Route a ``HEAD`` request as ``GET`` and send the response without its body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
