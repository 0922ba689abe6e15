"""The service's error boundary: hostile or broken input gets a 4xx envelope, bugs a logged 500.

Every case here once ended in a plain-text 500 (or a dropped connection); each test
talks HTTP only, so it holds whatever the modules behind the routes look like.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import propscan
from propscan.models.base import Detector
from propscan.service import create_app

FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}
SHORT_TEXT = "These corrupt traitors want to destroy our great nation."


@pytest.fixture(scope="module")
def detector(tiny_model: Path) -> Detector:
    return propscan.load_model(tiny_model)


@pytest.fixture
def client(detector: Detector, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(detector, tmp_path / "history.db")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def service_of(client: TestClient) -> Any:
    return client.app.state.service  # type: ignore[attr-defined]


def assert_envelope(response: httpx.Response, status: int, code: str | None = None) -> str:
    """The JSON error envelope with ``status``; returns its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"error", "message"}, body
    if code is not None:
        assert body["error"] == code, body
    assert isinstance(body["message"], str) and len(body["message"]) > 10
    return str(body["message"])


def assert_error_page(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text
    return response.text


# --- text that is not text ---------------------------------------------------------------


def test_lone_surrogate_in_json_text_is_a_422_naming_the_position(client: TestClient) -> None:
    body = b'{"text": "They are liars \\ud800 and traitors."}'
    message = assert_envelope(client.post("/api/analyze", content=body, headers=JSON), 422)
    assert "surrogate" in message and "character 15" in message


@pytest.mark.parametrize("field", ["title", "source"])
def test_lone_surrogates_in_metadata_are_refused(client: TestClient, field: str) -> None:
    body = f'{{"text": "{SHORT_TEXT}", "{field}": "Daily \\ud800 News"}}'.encode()
    message = assert_envelope(client.post("/api/analyze", content=body, headers=JSON), 422)
    assert field in message and "character 6" in message


def test_lone_surrogate_in_a_url_is_refused(client: TestClient) -> None:
    body = b'{"url": "http://ex\\udc00ample.org/news"}'
    response = client.post("/api/analyze", content=body, headers=JSON)
    assert response.status_code in (400, 422), response.text
    assert_envelope(response, response.status_code)


@pytest.mark.parametrize("url", ["http://xn--a.com/", "https://xn--zz.example/news"])
def test_urls_with_broken_international_names_are_invalid(client: TestClient, url: str) -> None:
    assert "not a valid URL" in assert_envelope(
        client.post("/api/analyze", json={"url": url}), 400, "invalid_url"
    )


def test_json_body_that_is_not_utf8_names_the_byte(client: TestClient) -> None:
    body = b'{"text": "They are \xff liars"}'
    message = assert_envelope(
        client.post("/api/analyze", content=body, headers=JSON), 400, "invalid_json"
    )
    assert "UTF-8" in message and "byte 19" in message


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"text": "x", "threshold": ' + b"9" * 5000 + b"}",
    ],
    ids=["deeply-nested", "huge-number"],
)
def test_json_the_parser_cannot_take_is_a_400_envelope(client: TestClient, body: bytes) -> None:
    message = assert_envelope(
        client.post("/api/analyze", content=body, headers=JSON), 400, "invalid_json"
    )
    assert "JSON" in message
    assert "sys." not in message  # words for the client, not Python's advice to itself


@pytest.mark.parametrize(
    "text",
    ["\u200b" * 50, "\x00" * 2000, "\u200b\u200c\u200d\ufeff \t\n\x07", "\u2060\u00ad\u200e"],
    ids=["zero-width", "nul-bytes", "format-and-control", "invisible"],
)
def test_text_with_nothing_visible_is_empty(client: TestClient, text: str) -> None:
    assert "empty" in assert_envelope(
        client.post("/api/analyze", json={"text": text}), 422, "empty_text"
    )


def test_text_with_some_format_characters_is_still_text(client: TestClient) -> None:
    text = "\u200bThey are\u00ad traitors\x00 and liars.\u200d"
    response = client.post("/api/analyze", json={"text": text})
    assert response.status_code == 201, response.text
    assert response.json()["text"] == text


# --- forms -------------------------------------------------------------------------------


def test_form_data_that_is_not_utf8_is_a_400_page_naming_the_position(client: TestClient) -> None:
    response = client.post("/analyze", content=b"text=They+are+%FF+liars", headers=FORM)
    page = assert_error_page(response, 400)
    assert "UTF-8" in page and "text" in page and "byte 9" in page


@pytest.mark.parametrize(
    "body",
    [b"%FF=1&text=They+lie", b"text=%ED%A0%80", b"title=%C3&text=They+lie", b"text=%F0%9F"],
    ids=["bad-key", "encoded-surrogate", "cut-title", "cut-emoji"],
)
def test_undecodable_form_fields_are_a_400_page(client: TestClient, body: bytes) -> None:
    assert "UTF-8" in assert_error_page(client.post("/analyze", content=body, headers=FORM), 400)


def test_form_of_invisible_characters_is_empty(client: TestClient) -> None:
    response = client.post("/analyze", content=b"text=%E2%80%8B%E2%80%8B%00", headers=FORM)
    assert "empty" in assert_error_page(response, 422)


# --- paging ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "offset=9223372036854775808",
        f"offset={10**20}",
        f"offset={10**400}",
        "offset=9223372036854775807",
        f"limit={10**20}",
        f"limit=-{10**20}",
    ],
)
def test_huge_paging_numbers_are_a_422_envelope(client: TestClient, query: str) -> None:
    message = assert_envelope(client.get(f"/api/analyses?{query}"), 422, "invalid_request")
    assert query.split("=")[0] in message


def test_paging_bounds_are_in_the_schema(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    parameters = {
        p["name"]: p["schema"] for p in spec["paths"]["/api/analyses"]["get"]["parameters"]
    }
    assert parameters["offset"]["minimum"] == 0 and "maximum" in parameters["offset"]
    assert parameters["limit"]["minimum"] == 1 and "maximum" in parameters["limit"]
    assert parameters["offset"]["maximum"] < 2**63
    last = client.get("/api/analyses", params={"offset": parameters["offset"]["maximum"]})
    assert last.status_code == 200 and last.json()["items"] == []


@pytest.mark.parametrize("page", ["461168601842738792", str(2**63), str(10**30), "-5", "x"])
def test_huge_history_pages_are_a_4xx_page(client: TestClient, page: str) -> None:
    response = client.get(f"/history?page={page}")
    assert 400 <= response.status_code < 500
    assert_error_page(response, response.status_code)


# --- unexpected errors ---------------------------------------------------------------------


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("disk controller on fire")


def test_unexpected_api_error_is_a_logged_500_envelope_with_a_request_id(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(service_of(client).store, "save", _boom)
    with caplog.at_level(logging.ERROR):
        response = client.post("/api/analyze", json={"text": SHORT_TEXT})
    message = assert_envelope(response, 500, "internal_error")
    assert "disk controller" not in message  # no internals leak to the client
    request_id = response.headers["x-request-id"]
    assert request_id and request_id in message
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None and "disk controller" in str(logged[0].exc_info[1])


def test_unexpected_page_error_is_an_html_500_with_a_request_id(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_of(client).store, "list", _boom)
    response = client.get("/history")
    page = assert_error_page(response, 500)
    assert response.headers["x-request-id"] in page
    assert "content-security-policy" in response.headers


def test_every_response_has_a_request_id(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(re.fullmatch(r"[A-Za-z0-9_-]{8,64}", i) for i in ids)


def test_a_500_keeps_the_connection_alive(
    detector: Detector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.server import running_server

    app = create_app(detector, tmp_path / "history.db")
    with running_server(app) as base_url:
        monkeypatch.setattr(app.state.service.store, "save", _boom)
        host, port = base_url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            body = b'{"text": "They are traitors."}'
            connection.request("POST", "/api/analyze", body=body, headers=JSON)
            failed = connection.getresponse()
            assert failed.status == 500
            assert failed.getheader("content-type", "").startswith("application/json")
            failed.read()
            socket_before = connection.sock
            assert socket_before is not None, "the server closed the connection"
            connection.request("GET", "/healthz")
            healthy = connection.getresponse()
            assert healthy.status == 200
            healthy.read()
            assert connection.sock is socket_before
        finally:
            connection.close()


# --- headers -------------------------------------------------------------------------------


def test_api_docs_have_the_same_security_headers_as_every_page(client: TestClient) -> None:
    home = client.get("/")
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    for header in ("x-frame-options", "x-content-type-options", "referrer-policy"):
        assert docs.headers.get(header) == home.headers[header], header
    # the docs viewers start from inline code, but load nothing from another host
    policy = docs.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "http" not in policy


def test_size_limit_answers_carry_the_security_headers(detector: Detector, tmp_path: Path) -> None:
    app = create_app(detector, tmp_path / "history.db", max_text_chars=10)
    with TestClient(app) as client:
        big = b"text=" + b"x" * 200_000
        page = client.post("/analyze", content=big, headers=FORM)
        api = client.post(
            "/api/analyze", content=b'{"text": "' + b"x" * 200_000 + b'"}', headers=JSON
        )
    assert page.status_code == api.status_code == 413
    assert_envelope(api, 413, "body_too_large")
    assert_error_page(page, 413)
    for response in (page, api):
        assert "content-security-policy" in response.headers
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_database_that_cannot_be_written_now_is_a_503(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk or a read-only folder is no fault of the request, nor a bug."""
    import sqlite3

    store = service_of(client).store
    opened = store._connection

    @contextlib.contextmanager
    def full_disk() -> Iterator[Any]:
        with opened():
            raise sqlite3.OperationalError("database or disk is full")
            yield

    monkeypatch.setattr(store, "_transaction", full_disk)
    message = assert_envelope(
        client.post("/api/analyze", json={"text": "They are traitors."}), 503, "storage_unavailable"
    )
    assert "disk is full" in message and "history.db" in message


def test_a_database_path_that_cannot_be_opened_is_a_storage_problem() -> None:
    from propscan.service.store import StorageProblem, Store

    with pytest.raises(StorageProblem, match="unable to open database file"):
        Store("/proc/version").list()  # a read-only file system
