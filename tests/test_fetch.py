"""Fetching articles from a local web server: extraction, address checks, redirects, limits."""

from __future__ import annotations

import contextlib
import socket
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from support.pages import serving_in_thread

from propscan import fetch
from propscan.fetch import FetchError, article_id_for_url, fetch_article, is_public_address

PARAGRAPH = (
    "The senator said on Monday that the bill was a disgraceful betrayal of ordinary "
    "families, and that its authors should be ashamed of what they had done to the country. "
)
ARTICLE_HTML = (
    "<!DOCTYPE html><html><head><title>Senate fight | Daily Example</title>"
    '<meta property="og:title" content="Senate fight">'
    '<meta property="og:site_name" content="Daily Example"></head><body>'
    "<nav><a href='/'>Home</a> | <a href='/about'>About</a></nav>"
    f"<article><h1>Senate fight</h1><p>{PARAGRAPH * 3}</p><p>{PARAGRAPH}</p></article>"
    "<footer>Contact us</footer></body></html>"
)


NOT_AN_ARTICLE = (Path(__file__).parent / "fixtures" / "pages" / "not-article.html").read_bytes()


class _Handler(BaseHTTPRequestHandler):
    """Routes of the test site; each path exercises one case of :func:`fetch_article`."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/article":
            self._send(200, "text/html; charset=utf-8", ARTICLE_HTML.encode("utf-8"))
        elif url.path == "/latin1":
            body = ARTICLE_HTML.replace("Senate fight</h1>", "Café fight</h1>")
            self._send(200, "text/html; charset=iso-8859-1", body.encode("latin-1"))
        elif url.path.startswith("/charset/"):  # a charset that is no text encoding
            media_type, charset = url.path.split("/")[2:4]
            body = ARTICLE_HTML if media_type == "html" else "Just text.\nSecond line."
            self._send(200, f"text/{media_type}; charset={charset}", body.encode())
        elif url.path == "/redirect-nowhere":
            self.send_response(302)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/plain":
            self._send(200, "text/plain; charset=utf-8", "Just text. 🎉\nSecond line.".encode())
        elif url.path.startswith("/hops/"):
            left = int(url.path.rsplit("/", 1)[1])
            self._redirect("/article" if left == 0 else f"/hops/{left - 1}")
        elif url.path == "/to":
            self._redirect(query["url"][0])
        elif url.path == "/big":
            self._send(200, "text/html", b"<p>" + b"x" * 5000 + b"</p>")
        elif url.path == "/big-unannounced":
            self._send(200, "text/html", b"<p>" + b"x" * 5000 + b"</p>", announce_length=False)
        elif url.path == "/sign-in":  # a page of menus and a form, the extension's fixture
            self._send(200, "text/html", NOT_AN_ARTICLE)
        elif url.path == "/empty":
            self._send(200, "text/html", b"<html><head><title>Nothing</title></head></html>")
        elif url.path == "/image":
            self._send(200, "image/png", b"\x89PNG\r\n\x1a\n")
        elif url.path == "/slow":
            time.sleep(1.5)
            self._send(200, "text/html", ARTICLE_HTML.encode())
        else:
            self._send(404, "text/plain", b"not found")

    def _send(
        self, status: int, content_type: str, body: bytes, announce_length: bool = True
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if announce_length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up early (oversized pages, timeouts) are expected, not errors."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextlib.contextmanager
def serve_site() -> Iterator[str]:
    """The test site on a free port of 127.0.0.1, as its base URL."""
    with serving_in_thread(_Server(("127.0.0.1", 0), _Handler)) as url:
        yield url


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve_site() as url:
        yield url


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch_error(url: str, **options: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch_article(url, **options)  # type: ignore[arg-type]
    return caught.value


def test_extracts_title_text_and_source(site: str) -> None:
    article = fetch_article(f"{site}/article", allow_private=True)
    assert article.title == "Senate fight"
    assert "disgraceful betrayal of ordinary families" in article.text
    assert "Contact us" not in article.text and "About" not in article.text
    assert article.url == f"{site}/article"
    assert article.source == "Daily Example"
    assert article.id == article_id_for_url(f"{site}/article")


def test_decodes_the_declared_charset(site: str) -> None:
    assert "Café fight" in fetch_article(f"{site}/latin1", allow_private=True).text


def test_plain_text_pages_are_taken_as_they_are(site: str) -> None:
    article = fetch_article(f"{site}/plain", allow_private=True)
    assert article.text == "Just text. 🎉\nSecond line." and article.title is None


def test_follows_redirects_up_to_the_limit(site: str) -> None:
    article = fetch_article(f"{site}/hops/3", allow_private=True, max_redirects=4)
    assert article.url == f"{site}/article"
    error = fetch_error(f"{site}/hops/3", allow_private=True, max_redirects=3)
    assert error.reason == "unreachable" and "more than 3 redirects" in str(error)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_private_hosts_are_refused_by_default(site: str, host: str) -> None:
    port = site.rsplit(":", 1)[1]
    error = fetch_error(f"http://{host}:{port}/article")
    assert error.reason == "private_address"
    assert "private, loopback or reserved" in str(error)


def test_every_redirect_hop_is_checked(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend 127.0.0.1 is a public server whose page redirects into the private network.
    monkeypatch.setattr(fetch, "is_public_address", lambda address: address == "127.0.0.1")
    assert fetch_article(f"{site}/article").title == "Senate fight"
    port = site.rsplit(":", 1)[1]
    error = fetch_error(f"{site}/to?url=http://127.0.0.2:{port}/article")
    assert error.reason == "private_address" and "127.0.0.2" in str(error)


def test_redirect_to_another_scheme_is_refused(site: str) -> None:
    error = fetch_error(f"{site}/to?url=file:///etc/passwd", allow_private=True)
    assert error.reason == "invalid_url" and "redirects to a file: URL" in str(error)


@pytest.mark.parametrize("charset", ["base64", "idna", "punycode", "rot13", "no-such-codec"])
@pytest.mark.parametrize("media_type", ["html", "plain"])
def test_a_charset_that_is_no_text_encoding_is_ignored(
    site: str, media_type: str, charset: str
) -> None:
    article = fetch_article(f"{site}/charset/{media_type}/{charset}", allow_private=True)
    assert ("Senate fight" if media_type == "html" else "Second line.") in article.text


def test_a_redirect_without_an_address_is_unreachable(site: str) -> None:
    error = fetch_error(f"{site}/redirect-nowhere", allow_private=True)
    assert error.reason == "unreachable" and "redirects without an address" in str(error)


@pytest.mark.parametrize("target", ["http://[::1", "javascript:alert(1)", "http://a.b:99999/"])
def test_a_redirect_to_an_invalid_url_is_refused(site: str, target: str) -> None:
    error = fetch_error(f"{site}/to?url={quote(target)}", allow_private=True)
    assert error.reason == "invalid_url"


def test_surrounding_white_space_is_no_part_of_the_url(site: str) -> None:
    assert "Senate fight" in fetch_article(f"  {site}/article\n", allow_private=True).text


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/a", "example.org/news", "http://", "https:///path", "", "http://a.org:0/"],
)
def test_invalid_urls(url: str) -> None:
    assert fetch_error(url).reason == "invalid_url"


def test_a_port_out_of_range_is_an_invalid_url() -> None:
    error = fetch_error("http://127.0.0.1:99999/", allow_private=True)
    assert error.reason == "invalid_url" and "port 99999 does not exist" in str(error)


def test_closed_port_is_unreachable(closed_port: int) -> None:
    error = fetch_error(f"http://127.0.0.1:{closed_port}/", allow_private=True)
    assert error.reason == "unreachable"
    assert "cannot connect to 127.0.0.1: it refused the connection" in str(error)
    assert "Errno" not in str(error)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (socket.EAI_NONAME, "cannot find the web site news.invalid: no such host name"),
        (
            socket.EAI_AGAIN,
            "cannot look up the web site news.invalid now; is this computer online?",
        ),
        (socket.EAI_FAIL, "cannot look up the web site news.invalid; check the address"),
    ],
)
def test_a_host_that_cannot_be_looked_up_is_named_in_plain_words(
    monkeypatch: pytest.MonkeyPatch, code: int, words: str
) -> None:
    def lookup(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(code, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    error = fetch_error("https://news.invalid/story")
    assert error.reason == "unreachable" and words in str(error)
    assert "Errno" not in str(error) and "Name or service" not in str(error)


def test_http_errors_are_unreachable(site: str) -> None:
    error = fetch_error(f"{site}/missing", allow_private=True)
    assert error.reason == "unreachable"
    assert "127.0.0.1 answered 404 Not Found: there is no such page" in str(error)


def test_slow_server_times_out(site: str) -> None:
    # The page arrives after 1.5 s: an error proves propscan stopped waiting.
    error = fetch_error(f"{site}/slow", allow_private=True, timeout=0.3)
    assert error.reason == "unreachable" and "0.3 seconds" in str(error)


@pytest.mark.parametrize("path", ["/big", "/big-unannounced"])
def test_oversized_pages_are_cut_off(site: str, path: str) -> None:
    error = fetch_error(f"{site}{path}", allow_private=True, max_bytes=1000)
    assert error.reason == "too_large" and "1,000 bytes" in str(error)


@pytest.mark.parametrize("path", ["/empty", "/image", "/sign-in"])
def test_pages_without_article_text(site: str, path: str) -> None:
    assert fetch_error(f"{site}{path}", allow_private=True).reason == "not_an_article"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.251", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("ff02::1", False),
        # IPv6 forms that carry an IPv4 address are judged by the address they reach
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("2002:a9fe:a9fe::", False),  # 6to4 of 169.254.169.254
        ("2002:5db8:d70e::1", True),  # 6to4 of 93.184.215.14
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("64:ff9b::5db8:d70e", True),  # NAT64 of 93.184.215.14
        ("64:ff9b:1::a00:1", False),  # local-use NAT64
        ("::ffff:93.184.215.14", True),
        ("::ffff:0:7f00:1", False),  # IPv4-translated 127.0.0.1
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ],
)
def test_public_address_check(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_the_6to4_form_of_loopback_is_refused_before_fetching() -> None:
    error = fetch_error("http://[2002:7f00:1::]/")
    assert error.reason == "private_address"
    assert "2002:7f00:1:: (standing for 127.0.0.1)" in error.problem
