"""The propscan service: web page, REST API and SQLite history (``propscan serve``).

``app`` builds the FastAPI application; ``api`` (REST) and ``pages`` (HTML, laid out by
:mod:`propscan.render.layout`) are thin wrappers over ``core.AnalysisService``; ``deps``
hands it to them; ``store`` keeps the history; ``schemas`` are the request and response
shapes; ``history_export`` writes the history as batch results. FastAPI and uvicorn are
imported only when the service is used, so ``import propscan`` and the other commands
stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from propscan.service.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from propscan.service.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
