"""The service over HTTP: every REST endpoint and error, the pages, and their safety."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from support.server import running_server

from propscan.core.analysis import Analysis, ModelInfo, SentenceScore
from propscan.core.article_score import ArticleScore
from propscan.core.spans import Span
from propscan.core.techniques import PTC_14, TECHNIQUES
from propscan.models.base import Detector, Prediction
from propscan.pipeline import analyze, load_model
from propscan.ptc.io import parse_labels
from propscan.render.layout import layout
from propscan.service.app import create_app
from propscan.service.pages import highlight_classes

ClientFactory = Callable[..., TestClient]

SHORT_TEXT = "Line one.\nThese corrupt traitors want to destroy our great nation."


@pytest.fixture(scope="module")
def emoji_text(sample_article: str) -> str:
    """A long article with emoji (astral characters, flags, skin tones) strewn in."""
    return "🙂🇺🇸 " + sample_article.replace("\n\n", "\n\n👍🏽 ").replace(" the ", " the 🦅 ")


@pytest.fixture(scope="module")
def detector(tiny_model: Path) -> Detector:
    return load_model(tiny_model)


@pytest.fixture
def make_client(detector: Detector, tmp_path: Path) -> Iterator[ClientFactory]:
    """Clients of fresh apps on a temporary database; options go to ``create_app``."""
    with ExitStack() as stack:

        def factory(**options: Any) -> TestClient:
            options.setdefault("model", detector)
            options.setdefault("db_path", tmp_path / f"history-{len(stack._exit_callbacks)}.db")
            return stack.enter_context(TestClient(create_app(**options)))

        yield factory


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


def store_of(client: TestClient) -> Any:
    return client.app.state.service.store  # type: ignore[attr-defined]


def post_text(client: TestClient, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/analyze", json={"text": text, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def covered(spans: list[dict[str, Any]]) -> int:
    """Characters inside at least one span."""
    return len({i for span in spans for i in range(span["start"], span["end"])})


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and len(body["message"]) > 10
    return str(body["message"])


# --- POST /api/analyze ---------------------------------------------------------------


def test_analyze_returns_the_cli_json_object_plus_an_id(
    client: TestClient, detector: Detector, sample_article: str
) -> None:
    response = client.post("/api/analyze", json={"text": sample_article})
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/analyses/{body['id']}"
    expected = analyze(sample_article, detector).to_dict()
    assert {key: value for key, value in body.items() if key != "id"} == expected
    assert body["spans"], "the tiny model finds spans in the article"
    for span in body["spans"]:
        assert sample_article[span["start"] : span["end"]] == span["fragment"]
        assert span["technique"] in TECHNIQUES


def test_analyze_passes_threshold_techniques_and_metadata(
    client: TestClient, detector: Detector, sample_article: str
) -> None:
    body = post_text(
        client,
        sample_article,
        threshold=0.2,
        techniques=["Loaded_Language"],
        title="Given title",
        source="Example Outlet",
    )
    assert body["threshold"] == 0.2
    assert body["title"] == "Given title" and body["source"] == "Example Outlet"
    assert body["spans"] and {s["technique"] for s in body["spans"]} == {"Loaded_Language"}
    lenient = post_text(client, sample_article, threshold=0.05)
    strict = post_text(client, sample_article, threshold=0.95)
    assert covered(lenient["spans"]) >= covered(strict["spans"])
    assert strict["spans"] == analyze(sample_article, detector, threshold=0.95).to_dict()["spans"]


def test_offsets_survive_emoji(client: TestClient, emoji_text: str) -> None:
    body = post_text(client, emoji_text)
    assert body["spans"]
    for span in body["spans"]:
        assert emoji_text[span["start"] : span["end"]] == span["fragment"]


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_empty_text_is_refused(client: TestClient, text: str) -> None:
    assert "empty" in assert_error(
        client.post("/api/analyze", json={"text": text}), 422, "empty_text"
    )


def test_text_over_the_limit_is_refused(make_client: ClientFactory) -> None:
    client = make_client(max_text_chars=100)
    assert post_text(client, "x" * 100)["text"] == "x" * 100
    message = assert_error(
        client.post("/api/analyze", json={"text": "x" * 101}), 413, "text_too_long"
    )
    assert "101" in message and "100" in message


def test_request_bodies_are_size_limited(make_client: ClientFactory) -> None:
    client = make_client(max_text_chars=100)
    limit = 12 * 100 + 65_536
    big = b'{"text": "' + b"x" * limit + b'"}'
    declared = client.post(
        "/api/analyze", content=big, headers={"content-type": "application/json"}
    )
    assert_error(declared, 413, "body_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = client.post(
        "/api/analyze", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(streamed, 413, "body_too_large")
    page = client.post(
        "/analyze",
        content=b"text=" + b"x" * limit,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 413 and "larger than" in page.text


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"text": "unclosed', "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "missing_body"),
        (b'{"text": "fine"}', "text/plain", 415, "unsupported_media_type"),
        (b'["text"]', "application/json", 422, "invalid_request"),
        (b'{"text": 5}', "application/json", 422, "invalid_request"),
        (b"{}", "application/json", 422, "invalid_request"),
        (
            b'{"text": "a", "url": "https://example.org"}',
            "application/json",
            422,
            "invalid_request",
        ),
        (b'{"text": "a", "threshold": 1.5}', "application/json", 422, "invalid_request"),
        (b'{"text": "a", "colour": "red"}', "application/json", 422, "invalid_request"),
        (b'{"text": "a", "techniques": ["Lies"]}', "application/json", 422, "invalid_input"),
    ],
)
def test_malformed_requests_get_json_errors(
    client: TestClient, body: bytes, content_type: str, status: int, code: str
) -> None:
    response = client.post("/api/analyze", content=body, headers={"content-type": content_type})
    assert_error(response, status, code)


def test_error_messages_name_the_problem(client: TestClient) -> None:
    def message(payload: dict[str, Any]) -> str:
        return str(client.post("/api/analyze", json=payload).json()["message"])

    assert "exactly one of 'text' and 'url'" in message({})
    assert message({"text": "a", "threshold": 2}).startswith("threshold:")
    assert "'Lies'" in message({"text": "some text", "techniques": ["Lies"]})


# --- URLs ----------------------------------------------------------------------------

ARTICLE_HTML = """<!doctype html><html><head><title>Local Gazette: Council votes</title>
<meta property="og:site_name" content="Local Gazette"></head><body><nav>Home | News</nav>
<article><h1>Council votes on the new bridge</h1>
<p>The city council voted on Tuesday to fund the new bridge across the river, ending
a debate that had lasted for more than three years and divided the town.</p>
<p>Opponents called the plan a disgraceful betrayal of every taxpayer, while the mayor
said the bridge would bring jobs and shorten the commute for thousands of residents.</p>
<p>Construction is expected to start next spring and to take about two years, according
to the engineering firm that won the contract after a public tender last autumn.</p>
</article><footer>Contact us</footer></body></html>"""

EMPTY_PAGE = b"<html><head><title>Log in</title></head><body></body></html>"
PLAIN_ARTICLE = "Plain article title\nThese corrupt traitors want to destroy our nation.\n"


class _Pages(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, str, bytes, dict[str, str]]]] = {
        "/article.html": (200, "text/html; charset=utf-8", ARTICLE_HTML.encode(), {}),
        "/article.txt": (200, "text/plain; charset=utf-8", PLAIN_ARTICLE.encode(), {}),
        "/long.txt": (200, "text/plain", b"word " * 1000, {}),
        "/empty.html": (
            200,
            "text/html",
            b"<html><head><title>Log in</title></head><body></body></html>",
            {},
        ),
        "/image.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, {}),
        "/huge.txt": (200, "text/plain", b"x" * 1024, {"Content-Length": "999999999"}),
        "/missing": (404, "text/plain", b"gone", {}),
    }

    def do_GET(self) -> None:
        status, content_type, body, headers = self.routes.get(
            self.path, (404, "text/plain", b"no", {})
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        headers = {"Content-Length": str(len(body)), **headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):  # the client may stop early
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def website() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_url_article_is_fetched_extracted_and_stored(
    make_client: ClientFactory, website: str
) -> None:
    client = make_client(allow_private_urls=True)
    response = client.post("/api/analyze", json={"url": f"{website}/article.html"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["url"] == f"{website}/article.html"
    assert "Council votes" in (body["title"] or "")
    assert body["source"]
    assert "disgraceful betrayal" in body["text"] and "Contact us" not in body["text"]
    assert client.get(f"/api/analyses/{body['id']}").json() == body

    plain = client.post("/api/analyze", json={"url": f"{website}/article.txt"}).json()
    assert plain["text"] == PLAIN_ARTICLE
    assert plain["source"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/empty.html", 422, "not_an_article"),
        ("/image.png", 422, "not_an_article"),
        ("/huge.txt", 422, "too_large"),
        ("/missing", 422, "unreachable"),
        ("/long.txt", 422, "text_too_long"),
    ],
)
def test_url_problems_get_4xx(
    make_client: ClientFactory, website: str, path: str, status: int, code: str
) -> None:
    client = make_client(allow_private_urls=True, max_text_chars=1000)
    assert_error(client.post("/api/analyze", json={"url": website + path}), status, code)


def test_unreachable_url(make_client: ClientFactory) -> None:
    client = make_client(allow_private_urls=True)
    url = f"http://127.0.0.1:{closed_port()}/article"
    response = client.post("/api/analyze", json={"url": url})
    assert_error(response, 422, "unreachable")
    assert "cannot connect to 127.0.0.1: it refused the connection" in response.json()["message"]
    page = client.post("/analyze", data={"url": url})
    assert page.status_code == 422 and "it refused the connection" in page.text


@pytest.mark.parametrize("url", ["ftp://example.org/a", "file:///etc/passwd", "example.org/a"])
def test_urls_that_are_not_http_are_refused(client: TestClient, url: str) -> None:
    assert_error(client.post("/api/analyze", json={"url": url}), 400, "invalid_url")


def test_private_addresses_are_refused_unless_allowed(client: TestClient, website: str) -> None:
    for url in (f"{website}/article.txt", "http://localhost:9/", "http://169.254.169.254/"):
        assert_error(client.post("/api/analyze", json={"url": url}), 400, "private_address")


# --- the other endpoints -------------------------------------------------------------


def test_get_list_and_delete(client: TestClient) -> None:
    ids = [post_text(client, f"Article number {n}\n{SHORT_TEXT}")["id"] for n in range(3)]
    one = client.get(f"/api/analyses/{ids[1]}")
    assert one.status_code == 200 and one.json()["id"] == ids[1]

    listing = client.get("/api/analyses", params={"limit": 2}).json()
    assert listing["total"] == 3 and listing["limit"] == 2 and listing["offset"] == 0
    assert [item["id"] for item in listing["items"]] == [ids[2], ids[1]]
    assert listing["items"][0]["title"] == "Article number 2"
    assert set(listing["items"][0]) == {
        "id",
        "created_at",
        "title",
        "source",
        "url",
        "span_count",
        "characters",
        "model",
        "article_score",
    }
    rest = client.get("/api/analyses", params={"limit": 2, "offset": 2}).json()
    assert [item["id"] for item in rest["items"]] == [ids[0]]

    assert client.delete(f"/api/analyses/{ids[1]}").status_code == 204
    assert_error(client.get(f"/api/analyses/{ids[1]}"), 404, "not_found")
    assert_error(client.delete(f"/api/analyses/{ids[1]}"), 404, "not_found")
    assert client.get("/api/analyses").json()["total"] == 2


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}])
def test_list_rejects_bad_paging(client: TestClient, params: dict[str, Any]) -> None:
    assert_error(client.get("/api/analyses", params=params), 422, "invalid_request")


@pytest.mark.parametrize("analysis_id", ["nope", "a" * 200, "x.y", "%00"])
def test_unknown_ids_are_404(client: TestClient, analysis_id: str) -> None:
    assert_error(client.get(f"/api/analyses/{analysis_id}"), 404, "not_found")


def test_techniques_endpoint_lists_the_14(client: TestClient) -> None:
    techniques = client.get("/api/techniques").json()
    assert [t["label"] for t in techniques] == list(TECHNIQUES)
    assert all(t["definition"] and t["example"] and t["colour"].startswith("#") for t in techniques)


def test_health(client: TestClient, detector: Detector) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["model"] == {
        "name": detector.name,
        "version": detector.version,
        "techniques": list(detector.techniques),
    }
    assert health["analyses"] == 0


def test_unknown_api_route_is_a_json_404(client: TestClient) -> None:
    assert_error(client.get("/api/nothing-here"), 404, "not_found")
    assert_error(client.put("/api/analyze", json={}), 405, "method_not_allowed")


def test_openapi_documents_every_endpoint_and_its_errors(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    paths = spec["paths"]
    assert {
        "/api/analyze",
        "/api/analyses",
        "/api/analyses/{analysis_id}",
        "/api/techniques",
        "/healthz",
    } <= set(paths)
    assert not any(path.startswith("/a/") for path in paths)  # pages stay out of the API
    analyze_op = paths["/api/analyze"]["post"]
    assert {"201", "400", "413", "422"} <= set(analyze_op["responses"])
    assert "404" in paths["/api/analyses/{analysis_id}"]["delete"]["responses"]
    assert (
        "private"
        in spec["components"]["schemas"]["AnalyzeRequestBody"]["properties"]["url"]["description"]
    )


def test_model_loads_once_at_start_up(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import propscan.pipeline

    loads: list[object] = []
    real_load = propscan.service.app.resolve_model

    def counting_load(path: object = None) -> Detector:
        loads.append(path)
        return real_load(path)  # type: ignore[arg-type]

    monkeypatch.setattr(propscan.service.app, "resolve_model", counting_load)
    app = create_app(model=tiny_model, db_path=tmp_path / "h.db")
    assert loads == []
    with TestClient(app) as client:
        for _ in range(3):
            post_text(client, SHORT_TEXT)
    assert loads == [tiny_model]


class _GatedDetector:
    """A detector whose predictions wait for a signal: a slow model on demand."""

    def __init__(self, inner: Detector) -> None:
        self.inner = inner
        self.name, self.version = inner.name, inner.version
        self.techniques = inner.techniques
        self.decision_threshold, self.directory = inner.decision_threshold, inner.directory
        self.started = threading.Event()
        self.release = threading.Event()

    def predict(self, texts: Any, threshold: float | None = None) -> list[Prediction]:
        self.started.set()
        assert self.release.wait(timeout=30)
        return self.inner.predict(texts, threshold=threshold)

    def classify(self, text: str, spans: Any) -> list[dict[str, float]]:
        return self.inner.classify(text, spans)

    def save(self, directory: Any) -> Path:
        return self.inner.save(directory)


def test_the_server_answers_while_an_analysis_runs(detector: Detector, tmp_path: Path) -> None:
    gated = _GatedDetector(detector)
    app = create_app(model=gated, db_path=tmp_path / "h.db")
    with running_server(app) as base_url:
        results: list[httpx.Response] = []
        worker = threading.Thread(
            target=lambda: results.append(
                httpx.post(f"{base_url}/api/analyze", json={"text": SHORT_TEXT}, timeout=60)
            )
        )
        worker.start()
        assert gated.started.wait(timeout=30)
        began = time.monotonic()
        health = httpx.get(f"{base_url}/healthz", timeout=10)
        assert health.status_code == 200 and time.monotonic() - began < 5
        assert httpx.get(f"{base_url}/api/analyses", timeout=10).json()["total"] == 0
        gated.release.set()
        worker.join(timeout=60)
    assert results and results[0].status_code == 201


# --- pages ---------------------------------------------------------------------------


class _Marks(HTMLParser):
    """Collects the text of every highlight, with the span ids it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[tuple[list[int], str]] = []
        self._open: list[int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "mark" and values.get("data-spans") is not None:
            self._open = [int(i) for i in (values["data-spans"] or "").split()]
            self.marks.append((self._open, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            ids, text = self.marks[-1]
            self.marks[-1] = (ids, text + data)


def highlights_by_span(html: str) -> dict[int, str]:
    """Each span id with the text of its highlights joined (whitespace between rows dropped)."""
    parser = _Marks()
    parser.feed(html)
    joined: dict[int, list[str]] = {}
    for ids, text in parser.marks:
        for index in ids:
            joined.setdefault(index, []).append(text)
    return {index: "".join(parts) for index, parts in joined.items()}


def without_whitespace(text: str) -> str:
    return "".join(text.split())


def test_result_page_highlights_exactly_the_spans_even_after_emoji(
    client: TestClient, emoji_text: str
) -> None:
    body = post_text(client, emoji_text)
    page = client.get(f"/a/{body['id']}")
    assert page.status_code == 200
    highlighted = highlights_by_span(page.text)
    assert set(highlighted) == set(range(len(body["spans"])))
    for index, span in enumerate(body["spans"]):
        assert without_whitespace(highlighted[index]) == without_whitespace(span["fragment"])


def test_result_page_shows_legend_band_filter_scores_and_downloads(
    client: TestClient, sample_article: str
) -> None:
    body = post_text(client, sample_article)
    html = client.get(f"/a/{body['id']}").text
    assert '<select id="min-band"' in html
    assert all(f'<option value="{band}">' in html for band in ("weak", "moderate", "strong"))
    assert f'<dd id="threshold">{body["threshold"]:.2f}</dd>' in html
    assert body["article_score"]["note"] is not None  # the tiny model has no reference
    assert "Article score not ranked" in html and "An article score of N means" in html
    for technique in {span["technique"] for span in body["spans"]}:
        slot = TECHNIQUES.index(technique)
        count = sum(span["technique"] == technique for span in body["spans"])
        assert f'class="count" data-slot="{slot}">{count}<' in html
    marked = [sentence for sentence in body["sentences"] if sentence["score"] > 0]
    assert marked and html.count("<meter") == len(marked)
    for suffix in ("", ".json", ".labels", ".txt"):
        assert f'href="/a/{body["id"]}{suffix}"' in html


def test_downloads_match_the_analysis(client: TestClient, sample_article: str) -> None:
    body = post_text(client, sample_article)
    analysis_id = body["id"]
    as_json = client.get(f"/a/{analysis_id}.json")
    assert as_json.json() == body
    assert "attachment" in as_json.headers["content-disposition"]
    text = client.get(f"/a/{analysis_id}.txt")
    assert text.text == sample_article
    assert f"article{analysis_id}.txt" in text.headers["content-disposition"]
    labels = parse_labels(client.get(f"/a/{analysis_id}.labels").text, Path("download"), "flc")
    expected = sorted(Span(s["start"], s["end"], s["technique"]) for s in body["spans"])
    assert list(labels[analysis_id]) == expected


def test_article_markup_is_shown_as_text(client: TestClient) -> None:
    hostile = '<script>alert("x")</script> These traitors </script><img src=x onerror=alert(1)>'
    body = post_text(client, hostile, title="<b>bold</b> title", threshold=0.05)
    page = client.get(f"/a/{body['id']}")
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert" in page.text
    assert "&lt;b&gt;bold&lt;/b&gt; title" in page.text
    data = page.text.split('id="analysis-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data
    assert "script-src 'self'" in page.headers["content-security-policy"]
    history = client.get("/history").text
    assert "&lt;b&gt;bold&lt;/b&gt; title" in history


def test_form_submission_redirects_to_the_permanent_page(client: TestClient) -> None:
    response = client.post(
        "/analyze",
        data={"text": "Line one\r\nThese traitors lie.", "url": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/a/")
    stored = client.get("/api/analyses/" + location.removeprefix("/a/")).json()
    assert stored["text"] == "Line one\nThese traitors lie."  # browsers' CRLF undone
    page = client.get(location)
    assert page.status_code == 200 and "Line one" in page.text


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"text": "  "}, 422, "empty"),
        ({"text": "x", "url": "https://example.org/"}, 422, "not both"),
        ({"text": "some text", "threshold": "high"}, 422, "between 0 and 1"),
        ({"url": "gopher://example.org/"}, 400, "only http"),
    ],
)
def test_form_errors_show_the_form_again(
    client: TestClient, form: dict[str, str], status: int, message: str
) -> None:
    response = client.post("/analyze", data=form)
    assert response.status_code == status
    assert message in response.text
    assert '<form class="analyze-form"' in response.text
    if form.get("text", "").strip():
        assert form["text"] in response.text  # what was typed is kept


def test_forms_posted_from_other_sites_are_refused(client: TestClient) -> None:
    analysis_id = post_text(client, SHORT_TEXT)["id"]
    cross_site = {"sec-fetch-site": "cross-site"}
    assert client.post("/analyze", data={"text": "x"}, headers=cross_site).status_code == 403
    assert client.post(f"/a/{analysis_id}/delete", headers=cross_site).status_code == 403
    assert client.get(f"/api/analyses/{analysis_id}").status_code == 200
    same = {"sec-fetch-site": "same-origin"}
    response = client.post(f"/a/{analysis_id}/delete", headers=same, follow_redirects=False)
    assert response.status_code == 303


def test_form_needs_a_form_encoding(client: TestClient) -> None:
    response = client.post("/analyze", json={"text": "x"})
    assert response.status_code == 415


def test_text_limit_on_the_page(make_client: ClientFactory) -> None:
    client = make_client(max_text_chars=10)
    assert "10 characters" in client.get("/").text
    assert client.post("/analyze", data={"text": "x" * 11}).status_code == 413


def test_history_pages_and_deletion(client: TestClient) -> None:
    store = store_of(client)
    model = ModelInfo("m", "1")
    ids = [
        store.save(Analysis(f"Story {n}\nbody", (), (SentenceScore(0, 7, 0.5),), model)).id
        for n in range(23)
    ]
    first = client.get("/history").text
    assert "23 analyses" in first and "Page 1 of 2" in first
    assert first.count("<tr>") == 20 + 1  # header row plus one row per analysis
    assert "Story 22" in first and 'href="/history?page=2"' in first
    second = client.get("/history?page=2").text
    assert second.count("<tr>") == 3 + 1 and "Story 0" in second
    assert client.get("/history?page=0").status_code == 422

    deleted = client.post(f"/a/{ids[0]}/delete", follow_redirects=False)
    assert deleted.status_code == 303 and deleted.headers["location"] == "/history"
    assert client.get(f"/a/{ids[0]}").status_code == 404
    assert client.post(f"/a/{ids[0]}/delete").status_code == 404


def test_about_page_lists_every_technique_with_definition_and_example(client: TestClient) -> None:
    html = client.get("/about").text
    for technique in PTC_14.descriptions():
        assert f'id="{technique.label}"' in html
        for part in (technique.name, technique.definition, technique.example):
            assert part.replace("'", "&#39;").replace('"', "&#34;") in html


def test_technique_colours_stylesheet(client: TestClient) -> None:
    css = client.get("/assets/techniques.css")
    assert css.headers["content-type"].startswith("text/css")
    for slot, technique in enumerate(PTC_14.descriptions()):
        assert f".t{slot}{{--c:{technique.colour}}}" in css.text


def test_unknown_page_is_an_html_404(client: TestClient) -> None:
    response = client.get("/a/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "no analysis with id" in response.text
    assert client.get("/no/such/page").status_code == 404


def test_static_files_are_served(client: TestClient) -> None:
    assert "refresh" in client.get("/static/app.js").text
    assert "mark.seg" in client.get("/static/style.css").text


# --- layout ----------------------------------------------------------------------------


def test_layout_cuts_overlapping_spans_into_segments() -> None:
    text = "Aa bb cc dd. Ee ff."
    spans = [Span(3, 8, "Loaded_Language", 0.9), Span(6, 11, "Doubt", 0.5)]
    rows = layout(text, spans, [SentenceScore(0, 12, 0.7), SentenceScore(13, 19, 0.1)])
    assert [(r.start, r.end, r.score) for r in rows] == [(0, 12, 0.7), (13, 19, 0.1)]
    pieces = [(text[s.start : s.end], s.span_ids) for s in rows[0].segments]
    assert pieces == [("Aa ", ()), ("bb ", (0,)), ("cc", (0, 1)), (" dd", (1,)), (".", ())]
    assert (
        highlight_classes((0, 1), spans, PTC_14) == f"t{TECHNIQUES.index('Loaded_Language')} "
        f"u{TECHNIQUES.index('Doubt')} multi"
    )


def test_layout_keeps_text_outside_sentences_as_unscored_rows() -> None:
    text = "  Lead-in\n\nSentence one. tail  "
    rows = layout(text, [], [SentenceScore(11, 24, 0.4)])
    assert [(text[r.start : r.end], r.score) for r in rows] == [
        ("Lead-in", None),
        ("Sentence one.", 0.4),
        ("tail", None),
    ]
    assert [r.new_paragraph for r in rows] == [False, True, False]


@st.composite
def texts_with_spans(draw: st.DrawFn) -> tuple[str, list[Span], list[SentenceScore]]:
    text = draw(st.text(alphabet="ab .\n🙂é", min_size=1, max_size=40))
    spans = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        spans.append(Span(start, end, draw(st.sampled_from(TECHNIQUES)), draw(st.floats(0, 1))))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=6))) | {0, len(text)})
    sentences = [SentenceScore(a, b, 0.5) for a, b in pairwise(cuts) if a < b]
    return text, sorted(spans), sentences


@given(texts_with_spans())
def test_layout_segments_cover_each_span_exactly(
    case: tuple[str, list[Span], list[SentenceScore]],
) -> None:
    text, spans, sentences = case
    rows = layout(text, spans, sentences)
    covered: dict[int, set[int]] = {}
    previous_end = 0
    for row in rows:
        assert row.start >= previous_end
        previous_end = row.end
        position = row.start
        for segment in row.segments:
            assert segment.start == position and segment.end > segment.start
            position = segment.end
            for index in segment.span_ids:
                assert spans[index].start <= segment.start and segment.end <= spans[index].end
                covered.setdefault(index, set()).update(range(segment.start, segment.end))
        assert position == row.end
    row_chars = {i for row in rows for i in range(row.start, row.end)}
    for index, span in enumerate(spans):
        assert covered.get(index, set()) == set(range(span.start, span.end)) & row_chars


# --- propscan serve ----------------------------------------------------------------------


def test_serve_reports_a_bad_model_or_database(tiny_model: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from propscan.cli import app

    runner = CliRunner()
    missing = runner.invoke(app, ["serve", "--model", str(tmp_path / "nothing")])
    assert missing.exit_code == 2
    assert "not a propscan model directory" in missing.output
    bad_db = tmp_path / "notes.db"
    bad_db.write_text("not sqlite at all\n" * 200)
    broken = runner.invoke(app, ["serve", "--model", str(tiny_model), "--db", str(bad_db)])
    assert broken.exit_code == 2
    assert "not a propscan database" in broken.output
    assert "Traceback" not in missing.output + broken.output


@pytest.mark.slow
def test_serve_starts_a_working_server(tiny_model: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    port = closed_port()
    command = [
        sys.executable, "-c", "from propscan.cli import main; main()", "serve",
        "--port", str(port), "--model", str(tiny_model), "--db", str(tmp_path / "h.db"),
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.communicate()[0].decode()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "propscan serve did not start"
                time.sleep(0.25)
        assert health.json()["status"] == "ok"
        created = httpx.post(
            f"http://127.0.0.1:{port}/api/analyze", json={"text": SHORT_TEXT}, timeout=60
        )
        assert created.status_code == 201
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (tmp_path / "h.db").exists()


def test_the_threshold_is_never_unknown(client: TestClient, detector: Detector) -> None:
    """An analysis stores its threshold; one stored without (an older propscan) gets its
    model's own when the service runs that model, and stays unknown otherwise."""
    body = post_text(client, SHORT_TEXT)
    assert body["threshold"] == detector.decision_threshold
    store = store_of(client)
    own = ModelInfo(detector.name, detector.version, detector.techniques)
    legacy = store.save(Analysis("Story\nbody", (), (SentenceScore(0, 5, 0.0),), own)).id
    assert client.get(f"/api/analyses/{legacy}").json()["threshold"] == detector.decision_threshold
    assert (
        f'<dd id="threshold">{detector.decision_threshold:.2f}</dd>'
        in client.get(f"/a/{legacy}").text
    )
    other = store.save(Analysis("Story\nbody", (), (), ModelInfo("m", "1"))).id
    assert client.get(f"/api/analyses/{other}").json()["threshold"] is None
    assert '<dd id="threshold">unknown</dd>' in client.get(f"/a/{other}").text


def test_min_band_filters_and_an_unknown_band_is_a_422(client: TestClient) -> None:
    every = post_text(client, SHORT_TEXT, threshold=0.05)
    strong = post_text(client, SHORT_TEXT, threshold=0.05, min_band="strong")
    assert strong["min_band"] == "strong"
    assert strong["spans"] == [s for s in every["spans"] if s["band"] == "strong"]
    assert strong["article_score"]["percentile"] is None
    response = client.post("/api/analyze", json={"text": SHORT_TEXT, "min_band": "loud"})
    assert response.status_code == 422
    assert "unknown confidence band 'loud'" in response.json()["message"]


def test_the_history_shows_each_article_score_and_what_it_means(client: TestClient) -> None:
    store = store_of(client)
    ranked = Analysis(
        "Ranked story\nbody",
        (),
        (SentenceScore(0, 12, 0.0),),
        ModelInfo("m", "1"),
        article_score=ArticleScore(0, 1, 61.2, "PTC train as m 1"),
    )
    store.save(ranked)
    post_text(client, SHORT_TEXT)
    page = client.get("/history").text
    assert '<th scope="col">Article score</th>' in page and "An article score of N means" in page
    assert re.search(r'<span title="Article score 61 of 100[^"]*">61</span>', page)
    assert "not ranked" in page  # the tiny model has no reference articles


def test_the_techniques_page_says_how_to_read_the_marks(client: TestClient) -> None:
    page = client.get("/about").text
    assert "<strong>strong</strong> from 0.45" in page and "<strong>weak</strong> below" in page
    assert "An article score of N means" in page and "starts with ❝" in page
