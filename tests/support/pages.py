"""Web pages on a loopback port for the browser extension: the fixture pages of
``tests/fixtures/pages``, long articles made to order, and servers that fail on purpose."""

from __future__ import annotations

import html
import itertools
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from propscan.ptc.splits import load_split

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAGES = FIXTURES / "pages"
#: The news article is served under a strict policy, as many news sites are: no inline
#: script or style may run, so the extension's marks must do without them.
STRICT_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; frame-src 'self'"
STRICT_PAGES = {"/article.html"}


def article_sentences() -> list[str]:
    """The body sentences of the fixture corpus's training articles (no titles)."""
    sentences = []
    for path in sorted((FIXTURES / "ptc" / "train-articles").glob("*.txt")):
        lines = path.read_text(encoding="utf-8-sig").splitlines()[1:]
        sentences += [line.strip() for line in lines if line.strip()]
    return sentences


def propaganda_sentences() -> list[str]:
    """The lines of the fixture training articles that hold a gold span: a model trained
    on them finds spans there."""
    split = load_split(FIXTURES / "ptc", "train")
    sentences = []
    for article in split.articles:
        start = 0
        for line in article.text.splitlines(keepends=True):
            end = start + len(line)
            spans = split.gold[article.id]
            if line.strip() and any(s.start < end and start < s.end for s in spans):
                sentences.append(line.strip())
            start = end
    return sentences


def long_article(characters: int) -> str:
    """A news page whose article has at least ``characters`` characters of text, in
    paragraphs of three sentences with links and emphasis inside them."""
    sentences = itertools.cycle(article_sentences())
    paragraphs, length = [], 0
    for number in itertools.count(1):
        first, second, third = (next(sentences) for _ in range(3))
        length += len(f"{first} {second} {third}\n\n")
        words = [html.escape(word) for word in third.split(" ")]
        emphasised = " ".join([words[0], f"<em>{words[1]}</em>", *words[2:]])
        paragraphs.append(
            f"<p>{html.escape(first)}\n    <a href='#p{number}'>{html.escape(second)}</a>"
            f" {emphasised}</p>"
        )
        if length >= characters:
            break
    body = "\n".join(paragraphs)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>The Long Report - Valley Courier</title></head><body>"
        "<header><a href='/'>Valley Courier</a></header>"
        f"<main><article><h1>The Long Report</h1>\n{body}\n</article></main>"
        "<footer>© Valley Courier</footer></body></html>"
    )


class _Pages(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/long-") and path.endswith(".html"):
            body = long_article(int(path.removeprefix("/long-").removesuffix(".html"))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        if self.path.split("?", 1)[0] in STRICT_PAGES:
            self.send_header("Content-Security-Policy", STRICT_POLICY)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet tests
        pass


@contextmanager
def serving_pages() -> Iterator[str]:
    """The fixture pages on a free loopback port; ``/long-N.html`` is an article of N
    characters. Yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Pages, directory=str(PAGES)))
    with serving_in_thread(server) as url:
        yield url


@contextmanager
def serving_in_thread(server: ThreadingHTTPServer) -> Iterator[str]:
    """Run ``server`` (bound to a loopback port) in a thread while the block runs; its URL."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """A loopback address that takes connections and never answers (a hung service)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def closed_address() -> str:
    """A loopback address where nothing listens (a service that is down)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
