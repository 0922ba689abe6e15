"""Who may use the service: foreign web pages cannot change anything, the browser
extension needs the token, and clients that send no Origin work as before."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers

from propscan.errors import PropscanError
from propscan.models.base import Detector
from propscan.pipeline import load_model
from propscan.service.app import create_app
from propscan.service.security import (
    STATE_CHANGING,
    check_request,
    ensure_token,
    loopback_hosts,
    read_token_digest,
    same_origin,
    token_digest,
    token_file,
    token_matches,
)

TEXT = "These corrupt traitors want to destroy our great nation."
TOKEN = "a-test-token-that-is-long-enough-0123456789"
EXTENSION = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
OWN = "http://testserver"  # the TestClient's address
FOREIGN = {
    "another site": {"origin": "http://evil.example"},
    "another loopback port": {"origin": "http://127.0.0.1:9"},
    "an https site": {"origin": "https://evil.example"},
    "an opaque origin": {"origin": "null"},
    "own host over another port": {"origin": "http://testserver:8080"},
    "a cross-site fetch": {"sec-fetch-site": "cross-site"},
    "another port of this site": {"sec-fetch-site": "same-site"},
    "own origin, cross-site fetch": {"origin": OWN, "sec-fetch-site": "cross-site"},
}
ALLOWED = {
    "no origin (a program)": {},
    "own origin": {"origin": OWN, "sec-fetch-site": "same-origin"},
    "own origin, default port spelt out": {"origin": "http://testserver:80"},
    "typed in the address bar": {"sec-fetch-site": "none"},
    "own page under no-referrer": {"origin": "null", "sec-fetch-site": "same-origin"},
}


@pytest.fixture(scope="module")
def detector(tiny_model: Path) -> Detector:
    return load_model(tiny_model)


@pytest.fixture
def client(detector: Detector, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(detector, tmp_path / "history.db", extension_token_digest=token_digest(TOKEN))
    with TestClient(app) as client:
        yield client


def stored(client: TestClient) -> str:
    response = client.post("/api/analyze", json={"text": TEXT})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def count(client: TestClient) -> int:
    return client.get("/healthz").json()["analyses"]


Send = Callable[[TestClient, dict[str, str]], httpx.Response]

#: A valid request for every route that changes something, keyed by method and path.
STATE_CHANGING_REQUESTS: dict[tuple[str, str], Send] = {
    ("POST", "/api/analyze"): lambda c, h: c.post("/api/analyze", json={"text": TEXT}, headers=h),
    ("POST", "/analyze"): lambda c, h: c.post(
        "/analyze", data={"text": TEXT}, headers=h, follow_redirects=False
    ),
    ("DELETE", "/api/analyses/{analysis_id}"): lambda c, h: c.delete(
        f"/api/analyses/{stored(c)}", headers=h
    ),
    ("POST", "/a/{analysis_id}/delete"): lambda c, h: c.post(
        f"/a/{stored(c)}/delete", headers=h, follow_redirects=False
    ),
}


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every route of the app, those of included routers too (FastAPI nests them)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (router := getattr(route, "original_router", None)) is not None:
            yield from api_routes(router.routes)


def test_every_state_changing_route_is_covered(client: TestClient) -> None:
    routes = {
        (method, route.path)
        for route in api_routes(client.app.routes)  # type: ignore[attr-defined]
        for method in route.methods & STATE_CHANGING
    }
    assert routes == set(STATE_CHANGING_REQUESTS)


@pytest.mark.parametrize("route", list(STATE_CHANGING_REQUESTS), ids=" ".join)
@pytest.mark.parametrize("headers", list(FOREIGN.values()), ids=list(FOREIGN))
def test_foreign_pages_cannot_change_anything(
    client: TestClient, route: tuple[str, str], headers: dict[str, str]
) -> None:
    target = stored(client)
    before = count(client)
    response = STATE_CHANGING_REQUESTS[route](client, headers)
    assert response.status_code == 403, response.text
    assert "another web site sent this request" in response.text
    assert "access-control-allow-origin" not in response.headers
    # nothing stored, nothing deleted (the route's own set-up stored one more)
    assert count(client) == before + (route[0] == "DELETE" or "delete" in route[1])
    assert client.get(f"/api/analyses/{target}").status_code == 200


@pytest.mark.parametrize("route", list(STATE_CHANGING_REQUESTS), ids=" ".join)
@pytest.mark.parametrize("headers", list(ALLOWED.values()), ids=list(ALLOWED))
def test_own_pages_and_programs_keep_working(
    client: TestClient, route: tuple[str, str], headers: dict[str, str]
) -> None:
    response = STATE_CHANGING_REQUESTS[route](client, headers)
    assert response.status_code in (201, 204, 303), response.text


def test_a_foreign_delete_without_fetch_metadata_is_refused(client: TestClient) -> None:
    """The reported case: an Origin from elsewhere and no Sec-Fetch-Site deleted the analysis."""
    target = stored(client)
    response = client.post(f"/a/{target}/delete", headers={"origin": "http://evil.example"})
    assert response.status_code == 403
    assert "<html" in response.text.lower()  # a page, like every error outside /api
    response = client.delete(f"/api/analyses/{target}", headers={"origin": "http://evil.example"})
    assert response.status_code == 403
    assert response.json()["error"] == "cross_origin"
    assert client.get(f"/api/analyses/{target}").status_code == 200


def test_foreign_pages_may_load_pages_but_cannot_read_the_api(client: TestClient) -> None:
    target = stored(client)
    for path in ("/", f"/a/{target}", f"/api/analyses/{target}"):
        response = client.get(path, headers={"origin": "http://evil.example"})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/api/analyze",
        headers={"origin": "http://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_the_extension_with_its_token_gets_cors_for_its_origin_only(client: TestClient) -> None:
    preflight = client.options(
        "/api/analyze",
        headers={
            "origin": EXTENSION,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == EXTENSION
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "POST" in preflight.headers["access-control-allow-methods"]

    headers = {"origin": EXTENSION, "authorization": f"Bearer {TOKEN}"}
    response = client.post("/api/analyze", json={"text": TEXT}, headers=headers)
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == EXTENSION
    assert "Location" in response.headers["access-control-expose-headers"]
    assert response.headers["vary"] == "Origin"
    assert response.headers["x-content-type-options"] == "nosniff"  # the usual headers too
    techniques = client.get("/api/techniques", headers=headers)
    assert techniques.status_code == 200
    assert techniques.headers["access-control-allow-origin"] == EXTENSION
    too_long = client.post("/api/analyze", json={"text": ""}, headers=headers)
    assert too_long.status_code == 422  # the service's own errors reach the extension
    assert too_long.headers["access-control-allow-origin"] == EXTENSION


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "token_missing"),
        (f"Bearer {TOKEN}x", "token_refused"),
        ("Bearer ", "token_refused"),
        (f"Basic {TOKEN}", "token_refused"),
    ],
)
def test_the_extension_without_the_token_is_refused(
    client: TestClient, authorization: str | None, code: str
) -> None:
    before = count(client)
    headers = {"origin": EXTENSION} | ({"authorization": authorization} if authorization else {})
    for response in (
        client.post("/api/analyze", json={"text": TEXT}, headers=headers),
        client.get("/api/analyses", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["error"] == code
        assert "extension's options" in response.json()["message"]
        assert response.headers["www-authenticate"] == "Bearer"
        # readable by the extension, so that it can show the message
        assert response.headers["access-control-allow-origin"] == EXTENSION
    assert count(client) == before


def test_a_service_without_a_token_refuses_every_extension(
    detector: Detector, tmp_path: Path
) -> None:
    with TestClient(create_app(detector, tmp_path / "history.db")) as client:
        headers = {"origin": "moz-extension://0d1c2b3a", "authorization": f"Bearer {TOKEN}"}
        response = client.get("/api/techniques", headers=headers)
        assert response.status_code == 401
        assert "propscan serve" in response.json()["message"]
        assert client.get("/api/techniques").status_code == 200


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:8000", 200),
        ("localhost:8000", 200),
        ("[::1]:8000", 200),
        ("LOCALHOST", 200),
        ("evil.example:8000", 421),
        ("127.0.0.1.nip.example", 421),
        ("", 421),
    ],
)
def test_a_loopback_service_answers_only_to_loopback_names(
    detector: Detector, tmp_path: Path, host: str, status: int
) -> None:
    """DNS rebinding: a page whose own name now points at 127.0.0.1 is its own origin."""
    app = create_app(
        detector,
        tmp_path / "history.db",
        extension_token_digest=token_digest(TOKEN),
        allowed_hosts=loopback_hosts("127.0.0.1"),
    )
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        same = {"host": host, "origin": f"http://{host}"}
        preflight = {"host": host, "origin": EXTENSION, "access-control-request-method": "POST"}
        for response in (
            client.get("/api/techniques", headers={"host": host}),
            client.get("/", headers={"host": host}),
            client.post("/api/analyze", json={"text": TEXT}, headers=same),
            client.options("/api/analyze", headers=preflight),
        ):
            expected = {200: {200, 201, 204}, 421: {421}}[status]
            assert response.status_code in expected, (response.request.url, response.text)
        if status == 421:
            refused = client.get("/api/techniques", headers={"host": host}).json()
            assert refused["error"] == "unknown_host"
            assert "127.0.0.1, ::1, localhost" in refused["message"]
            assert count(client) == 0


@pytest.mark.parametrize(
    ("listen", "names"),
    [
        ("127.0.0.1", ("127.0.0.1", "::1", "localhost")),
        ("127.0.0.2", ("127.0.0.1", "127.0.0.2", "::1", "localhost")),
        ("::1", ("127.0.0.1", "::1", "localhost")),
        ("localhost", ("127.0.0.1", "::1", "localhost")),
        ("0.0.0.0", None),
        ("::", None),
        ("192.168.1.20", None),
        ("news.example", None),
    ],
)
def test_only_a_loopback_listener_limits_the_names(listen: str, names: Any) -> None:
    assert loopback_hosts(listen) == names


# --- the rule as a function --------------------------------------------------------------------

hosts = st.sampled_from(["127.0.0.1", "localhost", "[::1]", "news.example", "10.0.0.2"])
ports = st.integers(min_value=1, max_value=65535)


@given(scheme=st.sampled_from(["http", "https"]), host=hosts, port=ports)
def test_the_own_origin_matches_the_host_it_was_reached_at(
    scheme: str, host: str, port: int
) -> None:
    assert same_origin(f"{scheme}://{host}:{port}", f"{host}:{port}")
    default = 80 if scheme == "http" else 443
    assert same_origin(f"{scheme}://{host}", host)
    assert same_origin(f"{scheme}://{host}:{default}", host)
    assert not same_origin(f"{scheme}://{host}:{port}", f"{host}:{port % 65535 + 1}")


@given(
    method=st.sampled_from(sorted(STATE_CHANGING)),
    origin_host=hosts,
    origin_port=ports,
    host=hosts,
    port=ports,
)
def test_a_change_from_any_other_origin_is_refused(
    method: str, origin_host: str, origin_port: int, host: str, port: int
) -> None:
    headers = Headers({"origin": f"http://{origin_host}:{origin_port}", "host": f"{host}:{port}"})
    refusal = check_request(method, headers, None)
    foreign = (origin_host, origin_port) != (host, port)
    assert (refusal is not None) == foreign
    if refusal is not None:
        assert (refusal.status, refusal.code) == (403, "cross_origin")


#: What a header can hold: bytes, which Starlette reads as Latin-1.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)


@given(origin=header_text, method=st.sampled_from(["GET", "HEAD", "OPTIONS"]))
def test_reading_is_never_refused_for_a_web_origin(origin: str, method: str) -> None:
    headers = Headers({"origin": origin, "host": "127.0.0.1:8000", "sec-fetch-site": "cross-site"})
    if origin.startswith(("chrome-extension://", "moz-extension://")):
        return
    assert check_request(method, headers, None) is None


@pytest.mark.parametrize(
    "origin",
    ["http://[::1", "http://127.0.0.1:99999", "ftp://127.0.0.1:8000", "127.0.0.1:8000", ""],
)
def test_malformed_origins_are_foreign(origin: str) -> None:
    assert not same_origin(origin, "127.0.0.1:8000")
    assert not same_origin("http://127.0.0.1:8000", None)


# --- the token ----------------------------------------------------------------------------------


def test_the_token_is_made_once_and_only_its_digest_is_kept(tmp_path: Path) -> None:
    path = token_file(tmp_path / "history.db")
    assert path == tmp_path / "history.db.token"
    digest, token = ensure_token(path)
    assert token is not None and token not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token_matches(f"Bearer {token}", digest)
    assert token_matches(f"bearer  {token} ", digest)
    assert not token_matches(f"Bearer {token[:-1]}", digest)
    assert not token_matches(token, digest)
    assert not token_matches(f"Bearer {token}", None)
    assert ensure_token(path) == (digest, None)  # shown only when made
    renewed, new_token = ensure_token(path, renew=True)
    assert new_token is not None and renewed != digest
    assert read_token_digest(path) == renewed


@pytest.mark.parametrize("content", ["", "not a digest\n", "sha256:abc\n", b"\xff\xfe"])
def test_a_damaged_token_file_is_named(tmp_path: Path, content: Any) -> None:
    path = tmp_path / "history.db.token"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(PropscanError, match=r"history\.db\.token"):
        read_token_digest(path)


def test_a_token_file_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    with pytest.raises(PropscanError, match="cannot write the extension token file"):
        ensure_token(tmp_path / "missing-folder" / "history.db.token")
