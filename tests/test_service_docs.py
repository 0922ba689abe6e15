"""The API documentation pages work offline: Swagger UI and ReDoc are served by the service
itself, and /api/docs lists the operations in headless Chromium with every outside
request refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from stubs import FixedDetector
from support.browser import browser_missing, chromium
from support.server import running_server

from propscan.service.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Request, Route

_URL_ATTRIBUTE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
_OUTSIDE = re.compile(r"""["'](?:https?:)?//""")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    database = tmp_path_factory.mktemp("docs") / "history.db"
    with TestClient(create_app(model=FixedDetector([]), db_path=database)) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/api/docs", "/api/redoc"])
def test_docs_pages_load_everything_from_the_service(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not _OUTSIDE.search(page.text), "the page refers to another host"
    assets = _URL_ATTRIBUTE.findall(page.text)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 0
    assert "/api/openapi.json" in page.text
    policy = page.headers["content-security-policy"]  # nothing from elsewhere, even if asked
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert "http" not in policy and "*" not in policy


def test_no_inline_script_page_is_served_under_the_strict_policy(client: TestClient) -> None:
    """Swagger UI's OAuth2 page is inline script, and the API has no OAuth2 flow to use it."""
    assert client.get("/api/docs/oauth2-redirect").status_code == 404
    for path in ("/", "/about", "/history"):
        page = client.get(path)
        assert "script-src 'self';" in page.headers["content-security-policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), path


def test_the_schema_lists_the_operations(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/analyze", "/api/analyses/{analysis_id}", "/api/techniques"} <= set(paths)
    assert "/api/docs" not in paths and "/api/redoc" not in paths


@pytest.mark.slow
def test_swagger_ui_renders_the_operations_without_a_network(tmp_path: Path) -> None:
    problem = browser_missing()
    if problem is not None:
        pytest.fail(f"{problem}: run 'bash scripts/test.sh' to install Chromium and Playwright")
    from playwright.sync_api import expect

    app = create_app(model=FixedDetector([]), db_path=tmp_path / "history.db")
    with running_server(app) as base_url, chromium() as browser:
        context = browser.new_context()
        refused: list[str] = []

        def only_this_service(route: Route, request: Request) -> None:
            if request.url.startswith(base_url):
                route.continue_()
            else:
                refused.append(request.url)
                route.abort()

        context.route("**/*", only_this_service)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{base_url}/api/docs")
        operations = page.locator(".opblock")
        expect(operations.first).to_be_visible()
        listed = " ".join(page.locator(".opblock-summary-path").all_inner_texts())
        for path in ("/api/analyze", "/api/analyses/{analysis_id}", "/api/techniques"):
            assert path.replace("{analysis_id}", "") in listed.replace("\u200b", "")
        page.goto(f"{base_url}/api/redoc")
        heading = page.get_by_role("heading", name="Analyse an article and store the result")
        expect(heading).to_be_visible()
        context.close()
    assert refused == []
