"""Fuzzing the service: Schemathesis over the REST API, Hypothesis over pages and forms.

The API is generated from the app's own OpenAPI schema; every answer must be below 500,
match its documented schema and status code, and carry the documented content type.
The example counts here are small so the suite stays quick; ``scripts/fuzz.sh``
runs the same checks with many more examples.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fuzzing import HUGE_INTEGERS, any_text, examples, fuzz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import propscan
from propscan.service import create_app

#: Examples per API operation and generation mode; PROPSCAN_FUZZ_EXAMPLES raises it.
API_EXAMPLES = examples(20)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = fuzz(40)
ANY_TEXT = any_text(200)


@pytest.fixture(scope="module", autouse=True)
def loopback_only() -> Iterator[None]:
    """Generated URLs must never reach the network: names other than loopback do not resolve."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            loopback = ipaddress.ip_address(name).is_loopback
        except ValueError:
            loopback = name == "localhost"
        if not loopback:
            raise socket.gaierror(socket.EAI_NONAME, "fuzzing resolves loopback only")
        return real(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", resolve)
        yield


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The service with the shipped model, started (lifespan run) for the whole module."""
    database = tmp_path_factory.mktemp("fuzz") / "history.db"
    application = create_app(propscan.load_model(), database)
    with TestClient(application):
        yield application


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> Any:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    schema.config.generation.update(max_examples=API_EXAMPLES, codec=None)
    return schema


api = schemathesis.pytest.from_fixture("api_schema")


@api.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_every_generated_request_as_documented(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


def assert_no_server_error(response: httpx.Response, *, api: bool) -> None:
    assert response.status_code < 500, response.text[:500]
    content_type = response.headers.get("content-type", "")
    if api and response.status_code >= 400:
        assert content_type.startswith("application/json")
        assert set(response.json()) == {"error", "message"}
    if not api and response.status_code >= 400:
        assert content_type.startswith("text/html"), content_type


def form_body(fields: dict[str, str]) -> bytes:
    """URL-encode fields as a browser would, carrying lone surrogates through as bytes."""
    return b"&".join(
        quote_from_bytes(name.encode("utf-8", "surrogatepass")).encode()
        + b"="
        + quote_from_bytes(value.encode("utf-8", "surrogatepass")).encode()
        for name, value in fields.items()
    )


@FUZZ
@given(body=st.binary(max_size=300))
def test_form_survives_arbitrary_bytes(client: TestClient, body: bytes) -> None:
    response = client.post(
        "/analyze",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert_no_server_error(response, api=False)


@FUZZ
@given(
    text=ANY_TEXT,
    url=st.one_of(st.just(""), ANY_TEXT),
    title=ANY_TEXT,
    threshold=st.one_of(ANY_TEXT, st.floats().map(str), HUGE_INTEGERS.map(str)),
)
def test_form_survives_arbitrary_fields(
    client: TestClient, text: str, url: str, title: str, threshold: str
) -> None:
    if url.strip():  # only http(s) loopback-free URLs could be fetched; keep it offline
        url = "gopher://" + url
    fields = {"text": text, "url": url, "title": title, "threshold": threshold}
    response = client.post(
        "/analyze",
        content=form_body(fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert_no_server_error(response, api=False)
    assert response.status_code in (303, 400, 413, 415, 422), response.status_code


@FUZZ
@given(page=st.one_of(HUGE_INTEGERS.map(str), ANY_TEXT))
def test_history_survives_any_page_number(client: TestClient, page: str) -> None:
    query = quote(page.encode("utf-8", "surrogatepass"), safe="")
    response = client.get(f"/history?page={query}")
    assert_no_server_error(response, api=False)


@FUZZ
@given(limit=HUGE_INTEGERS, offset=HUGE_INTEGERS)
def test_api_paging_survives_any_integer(client: TestClient, limit: int, offset: int) -> None:
    response = client.get(f"/api/analyses?limit={limit}&offset={offset}")
    assert_no_server_error(response, api=True)
    assert response.status_code in (200, 422)


@FUZZ
@given(
    analysis_id=ANY_TEXT,
    suffix=st.sampled_from(["", ".json", ".labels", ".txt"]),
)
def test_result_pages_survive_any_id(client: TestClient, analysis_id: str, suffix: str) -> None:
    path = quote(analysis_id.encode("utf-8", "surrogatepass"), safe="")
    if not path or path in (".", ".."):
        path = "x" + path
    response = client.get(f"/a/{path}{suffix}")
    assert_no_server_error(response, api=False)
    deleted = client.post(f"/a/{path}/delete", follow_redirects=False)
    assert_no_server_error(deleted, api=False)
    api_answer = client.get(f"/api/analyses/{path}")
    assert_no_server_error(api_answer, api=True)


@FUZZ
@given(
    payload=st.dictionaries(
        st.sampled_from(["text", "url", "title", "source", "threshold", "techniques"]),
        st.one_of(ANY_TEXT, HUGE_INTEGERS, st.floats(), st.lists(ANY_TEXT, max_size=3), st.none()),
    )
)
def test_api_survives_any_json_object(client: TestClient, payload: dict[str, Any]) -> None:
    if isinstance(payload.get("url"), str):
        payload["url"] = "gopher://" + payload["url"]  # never fetched: no network in tests
    body = json.dumps(payload).encode()  # lone surrogates travel as \\udXXX escapes
    response = client.post(
        "/api/analyze", content=body, headers={"content-type": "application/json"}
    )
    assert_no_server_error(response, api=True)


@FUZZ
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=latin-1", "text/plain", "", "a/b+json"]
    ),
)
def test_api_survives_arbitrary_bytes(client: TestClient, body: bytes, content_type: str) -> None:
    response = client.post("/api/analyze", content=body, headers={"content-type": content_type})
    assert_no_server_error(response, api=True)
