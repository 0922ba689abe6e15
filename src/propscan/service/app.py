"""The FastAPI application: REST API under ``/api``, web pages, one model, one store.

:func:`create_app` is the factory that ``propscan serve``, the tests and the benchmark
use. The model loads once at start-up (FastAPI lifespan); analysis runs in the thread
pool so the event loop keeps answering other requests meanwhile.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from propscan.core.checks import DEFAULT_MAX_CHARS
from propscan.models.registry import ModelSource, installed_models, resolve_model
from propscan.service import api, pages
from propscan.service.analyses import AnalysisService, Limits, ServiceError
from propscan.service.asgi import ASGIApp, Message, Receive, Scope, Send, with_headers
from propscan.service.head import HeadAsGet
from propscan.service.model_choices import ModelChoices
from propscan.service.security import OriginGuard
from propscan.service.store import StorageProblem, Store, default_db_path
from propscan.version import __version__

PACKAGE_DIR = Path(__file__).parent
DOCS_URL = "/api/docs"
REDOC_URL = "/api/redoc"
#: Swagger UI's page for OAuth2 logins: the API has none, so the page is not served.
OAUTH2_REDIRECT_URL = f"{DOCS_URL}/oauth2-redirect"
logger = logging.getLogger("propscan.service")

#: Pages may load only what this server serves: no inline script, no third-party content.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

#: The API docs pages run Swagger UI or ReDoc from inline code, but still load nothing
#: from another host (not even ReDoc's branding logo), so they work offline.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def security_headers(policy: str) -> list[tuple[bytes, bytes]]:
    """Sent with every response, pages, API and API docs alike (the docs with their policy)."""
    return [
        (b"x-content-type-options", b"nosniff"),
        # no referrer to other sites; the own pages' form posts keep their Origin
        (b"referrer-policy", b"same-origin"),
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),
    ]


def create_app(
    model: ModelSource = None,
    db_path: str | os.PathLike[str] | None = None,
    *,
    allow_private_urls: bool = False,
    max_text_chars: int = DEFAULT_MAX_CHARS,
    fetch_timeout: float = 10.0,
    extension_token_digest: str | None = None,
    allowed_hosts: Collection[str] | None = None,
) -> FastAPI:
    """The propscan service.

    ``model``, the model of requests that name none, is a loaded detector, an installed
    model's name, a model directory, or ``None`` for the shipped model; a request may name
    any installed model instead. ``db_path`` defaults to ``$PROPSCAN_DB`` or the user's
    data directory; ``extension_token_digest`` lets the browser extension in and
    ``allowed_hosts`` (any when ``None``) are the names the service answers to (see
    :mod:`.security`).
    """
    limits = Limits(max_text_chars=max_text_chars, fetch_timeout=fetch_timeout)
    database = Path(db_path) if db_path is not None else default_db_path()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        detector = await run_in_threadpool(resolve_model, model)
        installed = await run_in_threadpool(installed_models)
        for broken in (entry for entry in installed if entry.problem is not None):
            logger.warning("model %r is not offered: %s", broken.name, broken.problem)
        models = ModelChoices.of(detector, installed)
        store = await run_in_threadpool(Store, database)
        app.state.service = AnalysisService(
            models, store, limits=limits, allow_private_urls=allow_private_urls
        )
        yield

    # the API docs' scripts and styles come from the installed fastapi-offline package,
    # so /api/docs and /api/redoc work without a network
    app = FastAPIOffline(
        title="propscan",
        version=__version__,
        summary="Find propaganda techniques in news articles.",
        description=(
            "Analyse an article (text or URL): character spans with one of the 14 "
            "propaganda techniques of the PTC corpus, each with a calibrated confidence and "
            "its band, the quotation it lies in and the words that carried it; each "
            "sentence scored by its strongest mark; and an article score ranked against "
            "PTC's news articles. Offsets are Unicode code points into the stored text. "
            "Every analysis is kept, with a permanent page at `/a/{id}`.\n\n"
            'Errors are JSON `{"error": code, "message": text}`: 400 for a malformed '
            "request (invalid JSON, a URL that is not http(s) or points to a private "
            "address), 404 for an unknown id, 413 for text or a body over the size limit, "
            "415 for a body that is not sent as JSON, 422 for a request that is well-formed "
            "but cannot be analysed (empty text, unpaired surrogates, an unreachable or "
            "oversized page, a page with no article, an unknown technique or model, paging out of "
            "range), 403 for a POST or DELETE that another web site sent (its `Origin` or "
            "`Sec-Fetch-Site` header says so), 421 for a request to a service on a loopback "
            "address under another name, 401 for a browser-extension request without "
            "the token `propscan serve` showed (`Authorization: Bearer TOKEN`), and 500 "
            "for an unexpected error: its message names the request id "
            "(also in the `X-Request-ID` header of every response) under which the server "
            "logged it."
        ),
        lifespan=lifespan,
        docs_url=DOCS_URL,
        redoc_url=REDOC_URL,
        static_url="/api/docs-static",
        swagger_ui_oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        openapi_url="/api/openapi.json",
    )
    # an inline-script page that no flow of this API uses is better not served at all
    app.router.routes[:] = [
        route for route in app.router.routes if getattr(route, "path", None) != OAUTH2_REDIRECT_URL
    ]
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(StorageProblem, _storage_problem)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # The last added runs first: the error boundary wraps everything else, so a refused
    # body or a crash gets the security headers and a request id as well.
    app.add_middleware(HeadAsGet)
    app.add_middleware(_BodySizeLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(
        OriginGuard,
        token_digest=extension_token_digest,
        refuse=error_response,
        allowed_hosts=None if allowed_hosts is None else frozenset(allowed_hosts),
    )
    app.add_middleware(_ErrorBoundary)
    return app


def wants_json(request: Request) -> bool:
    """API clients get JSON errors; people on the web pages get an HTML page."""
    path = request.url.path
    return path.startswith("/api/") or path == "/api" or path == "/healthz"


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": code, "message": message}, status_code=status)
    return pages.render_error(request, status, message)


async def _service_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServiceError)
    return error_response(request, error.status, error.code, error.message)


async def _storage_problem(request: Request, error: Exception) -> Response:
    return error_response(request, 503, "storage_unavailable", str(error))


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    messages = {404: "there is nothing at this address", 405: "this method is not allowed here"}
    message = messages.get(error.status_code, str(error.detail))
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(error.status_code, "http_error")
    if error.status_code == 400 and error.__cause__ is not None:  # the JSON parser gave up
        code, message = "invalid_json", _unparsable_body(error.__cause__)
    response = error_response(request, error.status_code, code, message)
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    if error.status_code == 405:
        response.headers["Allow"] = ", ".join(allowed_methods(request))
    return response


#: The order of the methods an ``Allow`` header lists.
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method that some route answers at the request's path, for a 405's ``Allow``.

    Starlette names the methods of the first route whose path matches only, so
    ``/api/analyses/{id}`` (GET and DELETE are two routes) left DELETE out: each route
    is asked which methods it takes there. ``HEAD`` is answered wherever ``GET`` is
    (:class:`~propscan.service.head.HeadAsGet`), and a mounted static folder answers both.
    """
    # a mount's app sees a path below the mount: match the application's own path
    scope = {
        **request.scope,
        "root_path": request.scope.get("app_root_path", request.scope.get("root_path", "")),
    }
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Mount):
            if isinstance(route.app, StaticFiles) and route.matches(scope)[0] != Match.NONE:
                methods |= {"GET", "HEAD"}
            continue  # a mount takes every method and leaves refusing them to its app
        methods |= {
            method
            for method in _METHOD_ORDER
            if route.matches({**scope, "method": method})[0] == Match.FULL
        }
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods, key=_METHOD_ORDER.index)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    invalid_json = next((p for p in problems if p.get("type") == "json_invalid"), None)
    if invalid_json is not None:
        detail = (invalid_json.get("ctx") or {}).get("error", "")
        message = (
            f"the request body is not valid JSON ({detail}); "
            'send a JSON object such as {"text": "..."} with Content-Type: application/json'
        )
        return error_response(request, 400, "invalid_json", message)
    whole_body = [p for p in problems if tuple(p.get("loc", ())) == ("body",)]
    if whole_body and not _is_json(request.headers.get("content-type", "")):
        message = 'send the request body as JSON with the header "Content-Type: application/json"'
        return error_response(request, 415, "unsupported_media_type", message)
    if any(p.get("type") == "missing" for p in whole_body):
        message = 'the request has no body; send a JSON object such as {"text": "..."}'
        return error_response(request, 400, "missing_body", message)
    return error_response(request, 422, "invalid_request", describe_problems(problems))


def _unparsable_body(cause: BaseException) -> str:
    """Why the JSON parser could not read a body, in words a client can act on."""
    if isinstance(cause, UnicodeDecodeError):
        problem = f"is not valid UTF-8 (byte {cause.start})"
    elif isinstance(cause, RecursionError):
        problem = "is nested too deeply"
    elif "integer string conversion" in str(cause):  # Python's limit on a number's digits
        problem = "holds a number with too many digits"
    else:
        problem = f"cannot be parsed ({cause})"
    return f'the request body {problem}; send a JSON object such as {{"text": "..."}} in UTF-8'


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def describe_problems(problems: list[Any]) -> str:
    """One line naming each invalid field and what is wrong with it."""
    parts = []
    for problem in problems:
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query")]
        message = str(problem.get("msg", "invalid value")).removeprefix("Value error, ")
        if not location and problem.get("type") in ("model_attributes_type", "dict_type"):
            message = 'the request body must be a JSON object such as {"text": "..."}'
        parts.append(f"{'.'.join(location)}: {message}" if location else message)
    return "; ".join(parts) or "the request is not valid"


class _BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before any route reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = (
            f"the request body is larger than {self.max_bytes:,} bytes; "
            "send a shorter article or analyse it in parts"
        )
        response = error_response(Request(scope), 413, "body_too_large", message)
        await response(scope, receive, send)


class _ErrorBoundary:
    """Security headers and a request id on every response; every crash answered and logged.

    Each request gets an id (the ``X-Request-ID`` header); a crash is logged with its
    traceback and that id, and the client gets a 500 envelope or error page naming the
    id, on a connection that stays open.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_urlsafe(9)
        started = finished = False
        # the documentation pages start their viewers with inline code and styles
        docs = scope.get("path") in (DOCS_URL, REDOC_URL)
        policy = DOCS_CONTENT_SECURITY_POLICY if docs else CONTENT_SECURITY_POLICY

        async def tracked(message: Message) -> None:
            nonlocal started, finished
            started = True
            if message["type"] == "http.response.body":
                finished = not message.get("more_body", False)
            await send(message)

        send_with_id = with_headers(
            tracked, [*security_headers(policy), (b"x-request-id", request_id.encode())]
        )
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception(
                "request %s (%s %s) failed", request_id, scope.get("method"), scope.get("path")
            )
            if started:  # the answer is under way: all that can be done is to end it
                if not finished:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            message = (
                "something went wrong on the server; the error was logged "
                f"with request id {request_id}"
            )
            try:
                response = error_response(Request(scope), 500, "internal_error", message)
            except Exception:  # the error page itself failed: fall back to the envelope
                logger.exception("request %s: the error page failed", request_id)
                response = JSONResponse({"error": "internal_error", "message": message}, 500)
            await response(scope, receive, send_with_id)
