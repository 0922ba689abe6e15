"""Who may use the service: the origin rule and the browser extension's token.

A web page the reader visits can make the browser send requests to the reader's own
propscan service (a form post, a ``fetch``), with the reader's network position. So:

* A request that changes something (POST, PUT, PATCH, DELETE) whose ``Origin`` names
  another site (``null`` included), or whose ``Sec-Fetch-Site`` says ``cross-site`` or
  ``same-site`` (another port of the same host), is refused with 403. The service's own
  pages send their own origin; programs (curl, httpx, the Python API) send no
  ``Origin`` and keep working as before.
* A request from a browser extension (a ``chrome-extension://`` or ``moz-extension://``
  origin, which no web page can claim) must carry the service's token,
  ``Authorization: Bearer TOKEN``; only then does it pass, and only such origins get
  CORS headers, so no web page can read an answer of the service.

* A service that listens on a loopback address answers only requests addressed to a
  loopback name (``Host``): a page whose own name an attacker points at 127.0.0.1 (DNS
  rebinding) would otherwise be the service's own origin.

``propscan serve`` makes the token, shows it once and keeps only its SHA-256 digest, in
a file beside the history database (:func:`token_file`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from propscan.errors import PropscanError
from propscan.service.asgi import ASGIApp, Receive, Scope, Send, with_headers

#: Builds the error answer (JSON envelope or error page) for a refused request.
Refuse = Callable[[Request, int, str, str], Response]

#: Methods that change what the service stores; the origin rule guards them.
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Origins that only a browser extension can have.
EXTENSION_SCHEMES = ("chrome-extension", "moz-extension")
#: ``Sec-Fetch-Site`` values of a request that another site (or another port) started.
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})
DEFAULT_PORTS = {"http": 80, "https": 443}
#: Names by which a service on a loopback address is reached.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
TOKEN_DIGEST_PREFIX = "sha256:"

ALLOWED_METHODS = "GET, POST, DELETE"
ALLOWED_HEADERS = "Authorization, Content-Type"
EXPOSED_HEADERS = "Location, X-Request-ID"


@dataclass(frozen=True)
class Refusal:
    """Why a request is not served: its HTTP status, a stable code and a message."""

    status: int
    code: str
    message: str


# --- the token ---------------------------------------------------------------------------------


def token_file(database: Path) -> Path:
    """Where the extension token's digest is kept: beside the history database."""
    return database.with_name(database.name + ".token")


def token_digest(token: str) -> str:
    return TOKEN_DIGEST_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


def read_token_digest(path: Path) -> str | None:
    """The stored digest, ``None`` when there is no token yet; a damaged file is an error."""
    try:
        digest = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise PropscanError(f"cannot read the extension token file {path} ({error})") from error
    hexdigest = digest.removeprefix(TOKEN_DIGEST_PREFIX)
    if not digest.startswith(TOKEN_DIGEST_PREFIX) or len(hexdigest) != 64:
        raise PropscanError(
            f"{path} is not an extension token file; delete it or run "
            "'propscan serve --new-token' to make a new token"
        )
    return digest


def make_token(path: Path) -> str:
    """A new token: its digest replaces the stored one (readable by the owner only)."""
    token = secrets.token_urlsafe(32)
    partial = path.with_name(path.name + ".partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(token_digest(token) + "\n")
        os.replace(partial, path)
    except OSError as error:
        raise PropscanError(f"cannot write the extension token file {path} ({error})") from error
    return token


def ensure_token(path: Path, *, renew: bool = False) -> tuple[str, str | None]:
    """The digest of the stored token, and the token itself when it was made just now.

    A token is made when there is none yet or ``renew`` asks for a new one; this is the
    only moment the token itself is known, so the caller shows it then.
    """
    digest = None if renew else read_token_digest(path)
    if digest is not None:
        return digest, None
    token = make_token(path)
    return token_digest(token), token


def token_matches(authorization: str | None, digest: str | None) -> bool:
    """Whether an ``Authorization: Bearer TOKEN`` header carries the token of ``digest``."""
    if digest is None or authorization is None:
        return False
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    return hmac.compare_digest(token_digest(token.strip()), digest)


# --- the rule ----------------------------------------------------------------------------------


def extension_origin(headers: Headers) -> str | None:
    """The request's origin when a browser extension sent it, else ``None``."""
    origin = headers.get("origin", "")
    scheme, _, rest = origin.partition("://")
    if scheme in EXTENSION_SCHEMES and rest and "/" not in rest:
        return origin
    return None


def same_origin(origin: str, host: str | None) -> bool:
    """Whether ``origin`` is the service's own address as the client reached it (``Host``)."""
    if not host:
        return False
    try:
        parts, reached = urlsplit(origin), urlsplit(f"//{host}")
        default = DEFAULT_PORTS.get(parts.scheme)
        return (
            parts.scheme in DEFAULT_PORTS
            and parts.hostname is not None
            and parts.hostname == reached.hostname
            and (parts.port or default) == (reached.port or default)
        )
    except ValueError:  # a malformed port or address
        return False


def loopback_hosts(listen_host: str) -> tuple[str, ...] | None:
    """The host names a service listening on ``listen_host`` answers to: loopback names
    for a loopback address, any name (``None``) for an address others can reach."""
    if listen_host == "localhost":
        return tuple(sorted(LOOPBACK_NAMES))
    try:
        address = ipaddress.ip_address(listen_host)
    except ValueError:
        return None
    return tuple(sorted(LOOPBACK_NAMES | {str(address)})) if address.is_loopback else None


def host_name(host: str | None) -> str | None:
    """The name in a ``Host`` header, without port or IPv6 brackets."""
    try:
        return urlsplit(f"//{host}").hostname if host else None
    except ValueError:
        return None


def check_host(headers: Headers, allowed_hosts: Collection[str] | None) -> Refusal | None:
    """Refuse a request addressed to a name the service does not answer to."""
    if allowed_hosts is None or host_name(headers.get("host")) in allowed_hosts:
        return None
    return Refusal(
        421,
        "unknown_host",
        f"this propscan service answers only at {', '.join(sorted(allowed_hosts))}; "
        "a request for another name (a web page that renamed the address) is refused",
    )


def check_request(method: str, headers: Headers, digest: str | None) -> Refusal | None:
    """Why this request must be refused, or ``None`` when it may be served."""
    if extension_origin(headers) is not None:
        return _check_token(headers.get("authorization"), digest)
    if method.upper() not in STATE_CHANGING:
        return None
    origin = headers.get("origin")
    fetch_site = headers.get("sec-fetch-site", "").lower()
    if fetch_site in FOREIGN_FETCH_SITES:
        return _foreign(f"the browser marked it {fetch_site}")
    # a page under a no-referrer policy posts with Origin "null"; then only the
    # browser's own word that the request is same-origin lets it through
    vouched = origin == "null" and fetch_site == "same-origin"
    if origin is not None and not vouched and not same_origin(origin, headers.get("host")):
        return _foreign(f"its Origin is {origin!r}")
    return None


def _foreign(why: str) -> Refusal:
    return Refusal(
        403,
        "cross_origin",
        f"another web site sent this request ({why}); propscan accepts changes only from "
        "its own pages, from programs that send no Origin, and from its browser extension",
    )


def _check_token(authorization: str | None, digest: str | None) -> Refusal | None:
    if token_matches(authorization, digest):
        return None
    if digest is None:
        return Refusal(
            401,
            "token_refused",
            "this propscan service has no extension token; start it with 'propscan serve', "
            "which makes one and shows it, and paste that into the extension's options",
        )
    if authorization is None:
        return Refusal(
            401,
            "token_missing",
            "a browser extension must send the service's token; paste the token that "
            "'propscan serve' showed into the extension's options",
        )
    return Refusal(
        401,
        "token_refused",
        "the token is not this service's; paste the token that 'propscan serve' showed into "
        "the extension's options (or make a new one with 'propscan serve --new-token')",
    )


# --- the middleware ----------------------------------------------------------------------------


def cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    """Headers that let the extension at ``origin`` (and nothing else) read the answer."""
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
        (b"vary", b"Origin"),
    ]


class OriginGuard:
    """Apply :func:`check_request` to every HTTP request; CORS for the extension only.

    ``refuse`` builds the answer to a refused request, so that it has the same shape
    (JSON envelope under ``/api``, an error page elsewhere) as every other error.
    """

    def __init__(
        self,
        app: ASGIApp,
        token_digest: str | None,
        refuse: Refuse,
        allowed_hosts: Collection[str] | None = None,
    ) -> None:
        self.app = app
        self.token_digest = token_digest
        self.refuse = refuse
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = check_host(headers, self.allowed_hosts)
        origin = extension_origin(headers)
        if origin is not None and refusal is None and _is_preflight(scope["method"], headers):
            await self._preflight(origin, send)
            return
        send_cors = send if origin is None else with_headers(send, cors_headers(origin))
        refusal = refusal or check_request(scope["method"], headers, self.token_digest)
        if refusal is None:
            await self.app(scope, receive, send_cors)
            return
        response = self.refuse(Request(scope), refusal.status, refusal.code, refusal.message)
        if refusal.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        await response(scope, receive, send_cors)

    async def _preflight(self, origin: str, send: Send) -> None:
        """The browser asks before the extension's real request; preflights carry no token."""
        headers = [
            *cors_headers(origin),
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _is_preflight(method: str, headers: Headers) -> bool:
    return method == "OPTIONS" and "access-control-request-method" in headers
