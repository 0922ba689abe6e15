"""``HEAD`` on every ``GET`` route: the status and headers of ``GET``, and no body."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from stubs import FixedDetector
from support.server import running_server

from propscan.core.spans import Span
from propscan.service import api, pages
from propscan.service.app import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    database = tmp_path_factory.mktemp("head") / "history.db"
    model = FixedDetector([Span(0, 4, "Loaded_Language", 0.9)])
    with TestClient(create_app(model=model, db_path=database)) as test_client:
        yield test_client


def get_paths(client: TestClient) -> list[str]:
    """Every GET route of the API and the pages, with a stored analysis id for its ``{id}``."""
    analysis_id = client.post("/api/analyze", json={"text": "They lie, always."}).json()["id"]
    routes = [*api.router.routes, *pages.router.routes, *client.app.routes]  # type: ignore[attr-defined]
    paths = [
        route.path.replace("{analysis_id}", analysis_id).replace("{suffix}", "labels")
        for route in routes
        if isinstance(route, APIRoute) and "GET" in route.methods
    ]
    assert "{" not in "".join(paths), paths
    return [*paths, "/static/app.js", "/nowhere", "/api/nowhere"]


def test_head_answers_every_get_route_like_get_without_a_body(client: TestClient) -> None:
    paths = get_paths(client)
    assert len(paths) >= 14
    for path in paths:
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        for name in ("content-type", "content-length", "content-security-policy"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)


def test_head_on_a_post_only_route_is_405(client: TestClient) -> None:
    response = client.head("/api/analyze")
    assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_a_405_allows_every_method_its_path_answers(client: TestClient) -> None:
    """``/api/analyses/{id}`` is a GET route and a DELETE route: Allow names both."""

    def stored() -> str:
        return client.post("/api/analyze", json={"text": "They lie, always."}).json()["id"]

    allowed = {
        f"/api/analyses/{stored()}": "GET, HEAD, DELETE",
        "/api/analyses": "GET, HEAD",
        "/api/analyze": "POST",
        f"/a/{stored()}/delete": "POST",
        "/healthz": "GET, HEAD",
        "/static/app.js": "GET, HEAD",
    }
    for path, methods in allowed.items():
        refused = client.request("PUT", path)
        assert refused.status_code == 405 and refused.headers["allow"] == methods, path
        for method in methods.split(", "):  # DELETE last: the analysis is gone after it
            assert client.request(method, path).status_code != 405, (method, path)


def test_head_over_the_wire_sends_no_body(client: TestClient) -> None:
    """uvicorn keeps the connection usable: the next request on it is answered."""
    with running_server(client.app) as url, httpx.Client(base_url=url) as http:  # type: ignore[arg-type]
        head = http.head("/api/techniques")
        assert head.status_code == 200 and int(head.headers["content-length"]) > 0
        assert http.get("/healthz").status_code == 200
