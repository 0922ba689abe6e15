"""Download a news page and extract its article text, guarding the local network.

A URL typed by a user (or sent to the service) must not turn propscan into a way to
reach internal machines, so every redirect is followed by hand, every address a host
resolves to must be public, and the connection goes to exactly the address that was
checked (the TLS certificate is still verified against the host name). Downloads are
streamed and capped so that a huge or endless page cannot exhaust memory.
"""

from __future__ import annotations

import codecs
import hashlib
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Literal

import httpx

from propscan.core.spans import Article
from propscan.errors import PropscanError

FetchReason = Literal[
    "invalid_url", "private_address", "unreachable", "too_large", "not_an_article"
]

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_PLAIN_TYPES = frozenset({"text/plain"})
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8"


class FetchError(PropscanError):
    """A page could not be turned into an article; ``reason`` says why, for programs."""

    def __init__(self, url: str, reason: FetchReason, problem: str) -> None:
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.reason: FetchReason = reason
        self.problem = problem


@dataclass(frozen=True)
class Page:
    """A downloaded page: its final URL (after redirects), media type, charset and body."""

    url: str
    media_type: str
    charset: str | None
    body: bytes


def article_id_for_url(url: str) -> str:
    """A short, stable id for an article found at ``url`` (used in PTC output and storage)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def fetch_article(
    url: str,
    *,
    allow_private: bool = False,
    timeout: float = 10.0,
    max_bytes: int = 5_000_000,
    max_redirects: int = 5,
) -> Article:
    """Download ``url`` and extract the article's title and text with trafilatura.

    ``timeout`` bounds the whole download in seconds; ``allow_private`` permits hosts on
    private, loopback or link-local networks (for trusted, local use only).
    """
    page = download(
        url,
        allow_private=allow_private,
        timeout=timeout,
        max_bytes=max_bytes,
        max_redirects=max_redirects,
    )
    return extract_article(page)


def download(
    url: str,
    *,
    allow_private: bool = False,
    timeout: float = 10.0,
    max_bytes: int = 5_000_000,
    max_redirects: int = 5,
) -> Page:
    """The page at ``url``, following at most ``max_redirects`` redirects, each one checked."""
    deadline = time.monotonic() + timeout
    url = url.strip()
    current = _parse_url(url, url)
    headers = {"User-Agent": _user_agent(), "Accept": _ACCEPT}
    # Proxies from the environment are ignored: the address check must see the real server.
    with httpx.Client(trust_env=False, follow_redirects=False, headers=headers) as client:
        for _ in range(max_redirects + 1):
            addresses = _checked_addresses(current, allow_private)
            response = _connect(client, current, addresses, deadline, timeout)
            try:
                if not response.is_redirect:
                    return _read_page(response, current, deadline, timeout, max_bytes)
                current = _redirect_target(current, response, url)
            finally:
                response.close()
    raise FetchError(url, "unreachable", f"more than {max_redirects} redirects; giving up")


def extract_article(page: Page) -> Article:
    """The article in a downloaded page: trafilatura's main text, title and site name."""
    host = httpx.URL(page.url).host
    decoded = _decoded(page.body, page.charset)
    if page.media_type in _PLAIN_TYPES:
        text = decoded if decoded is not None else page.body.decode("utf-8", errors="replace")
        return _article(page.url, text, title=None, source=host, date=None)
    from trafilatura import bare_extraction  # imported here: it is slow to import

    html = decoded if decoded is not None else page.body  # bytes: trafilatura sniffs
    document = bare_extraction(
        html,
        url=page.url,
        with_metadata=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        include_formatting=False,
    )
    main_text = getattr(document, "text", None)
    if main_text and _running_text(main_text) < MIN_RUNNING_TEXT:
        raise FetchError(
            page.url,
            "not_an_article",
            "no article text found on this page, only menus, forms or links; paste the "
            "text instead",
        )
    return _article(
        page.url,
        main_text or "",
        title=getattr(document, "title", None) or None,
        source=getattr(document, "sitename", None) or host,
        date=getattr(document, "date", None) or None,
    )


#: Characters (white space aside) of running text a page needs to be an article: a sign-in
#: form or a list of links extracted from a page has none. The browser extension asks the same.
MIN_RUNNING_TEXT = 250


def _running_text(text: str) -> int:
    """Characters of ``text`` in lines of six words or more (prose, not menu items)."""
    return sum(len("".join(line.split())) for line in text.splitlines() if len(line.split()) >= 6)


def _article(
    url: str, text: str, *, title: str | None, source: str | None, date: str | None
) -> Article:
    if not text.strip():
        raise FetchError(
            url, "not_an_article", "no article text found on this page; paste the text instead"
        )
    return Article(
        id=article_id_for_url(url), text=text, title=title, source=source, date=date, url=url
    )


def _user_agent() -> str:
    from propscan.version import __version__

    return f"propscan/{__version__} (+article analysis)"


def _parse_url(value: str | httpx.URL, original: str) -> httpx.URL:
    """``value`` as an absolute http(s) URL with a host, else an ``invalid_url`` error."""
    try:
        url = httpx.URL(value)
        host = url.host  # decoding an IDNA name can fail too (``xn--a.com``)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise FetchError(original, "invalid_url", f"not a valid URL ({error})") from None
    if not url.scheme:
        raise FetchError(
            original, "invalid_url", "not an absolute URL; web addresses start with https://"
        )
    if url.scheme not in ("http", "https"):
        where = "redirects to" if str(value) != original else "is"
        raise FetchError(
            original,
            "invalid_url",
            f"{where} a {url.scheme}: URL; only http:// and https:// pages can be fetched",
        )
    if not host or any(char.isspace() for char in host):
        raise FetchError(original, "invalid_url", "the URL has no valid host name")
    if url.port is not None and not 0 < url.port < 65536:
        raise FetchError(original, "invalid_url", f"port {url.port} does not exist (1-65535)")
    return url


def _redirect_target(current: httpx.URL, response: httpx.Response, original: str) -> httpx.URL:
    """Where a redirect points, checked as the first address was."""
    location = response.headers.get("location")
    if not location:
        raise FetchError(
            original, "unreachable", f"the web site {current.host} redirects without an address"
        )
    return _parse_url(current.join(location), original)


def _checked_addresses(url: httpx.URL, allow_private: bool) -> list[str]:
    """Every address the URL's host resolves to; all must be public unless allowed."""
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise FetchError(str(url), "unreachable", _lookup_problem(url.host, error)) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise FetchError(
                    str(url),
                    "private_address",
                    f"host {url.host!r} resolves to {_described(address)}, a private, loopback "
                    "or reserved address; only public web pages are fetched",
                )
    return addresses


#: Local-use NAT64 (RFC 8215): translated by a site's own gateway, never public.
_LOCAL_USE_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
#: Well-known NAT64 (RFC 6052): the last 32 bits are the IPv4 address reached.
_WELL_KNOWN_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: IPv4-mapped, 6to4, NAT64 or Teredo."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _WELL_KNOWN_NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast IP (not private, loopback, ...).

    An IPv6 address that carries an IPv4 address (``::ffff:127.0.0.1``, the 6to4
    ``2002:7f00:1::``, NAT64 ``64:ff9b::a00:1``) is judged by the IPv4 address it reaches.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_USE_NAT64:
            return False
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            # Teredo reaches whatever client its relay serves: its own range decides too
            return _is_public(embedded) and (ip.teredo is None or _is_public(ip))
    return _is_public(ip)


def _described(address: str) -> str:
    """``address``, followed by the IPv4 address it stands for when it carries one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    embedded = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    return address if embedded is None else f"{address} (standing for {embedded})"


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _connect(
    client: httpx.Client,
    url: httpx.URL,
    addresses: list[str],
    deadline: float,
    timeout: float,
) -> httpx.Response:
    """Send the request to the first of ``addresses`` that accepts a connection."""
    host = url.raw_host.decode("ascii")
    failure: Exception | None = None
    for address in addresses:
        request = client.build_request(
            "GET",
            url.copy_with(host=address),
            headers={"Host": url.netloc.decode("ascii")},
            extensions={"sni_hostname": host},
            timeout=_remaining(deadline, url, timeout),
        )
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as error:
            failure = error
        except httpx.TimeoutException:
            raise _timed_out(url, timeout) from None
        except (httpx.InvalidURL, httpx.RemoteProtocolError) as error:
            # httpx reads a redirect's address while receiving the response
            if isinstance(error, httpx.RemoteProtocolError) and "location" not in str(error):
                raise _broke_off(url) from None
            problem = f"redirects to an invalid URL ({error})"
            raise FetchError(str(url), "invalid_url", problem) from None
        except httpx.HTTPError:
            raise _broke_off(url) from None
    raise FetchError(str(url), "unreachable", _connect_problem(url.host, failure))


def _broke_off(url: httpx.URL) -> FetchError:
    return FetchError(str(url), "unreachable", f"the web site {url.host} broke off the request")


def _lookup_problem(host: str, error: BaseException) -> str:
    """Why a host name could not be looked up, in plain words."""
    if isinstance(error, socket.gaierror) and error.errno == socket.EAI_NONAME:
        return f"cannot find the web site {host}: no such host name; check the address for typos"
    if isinstance(error, socket.gaierror) and error.errno == socket.EAI_AGAIN:
        return f"cannot look up the web site {host} now; is this computer online?"
    return f"cannot look up the web site {host}; check the address and the network"


def _connect_problem(host: str, error: BaseException | None) -> str:
    """Why no connection to a host could be made, in plain words."""
    reason = str(error).lower()
    if "certificate" in reason:
        return f"cannot connect to {host} safely: its certificate cannot be trusted"
    if "refused" in reason:
        return f"cannot connect to {host}: it refused the connection (is the address right?)"
    return f"cannot connect to {host}: it did not answer (it may be down or unreachable)"


#: HTTP statuses explained in plain words (by hundreds when not listed).
_STATUS_WORDS = {
    401: "the page needs a log-in",
    403: "the web site refuses to give this page to propscan",
    404: "there is no such page; check the address",
    410: "the page has been removed",
    429: "the web site asks to wait before fetching again",
    4: "the web site refused the request",
    5: "the web site had an error; try again later",
}


def _read_page(
    response: httpx.Response, url: httpx.URL, deadline: float, timeout: float, max_bytes: int
) -> Page:
    if response.is_error:
        status = response.status_code
        words = _STATUS_WORDS.get(status) or _STATUS_WORDS.get(status // 100, "")
        raise FetchError(
            str(url),
            "unreachable",
            f"{url.host} answered {status} {response.reason_phrase}: {words}",
        )
    media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in _HTML_TYPES | _PLAIN_TYPES:
        raise FetchError(
            str(url), "not_an_article", f"the page is {media_type}, not an HTML news article"
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(url, max_bytes)
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise _too_large(url, max_bytes)
            if time.monotonic() > deadline:
                raise _timed_out(url, timeout)
    except httpx.TimeoutException:
        raise _timed_out(url, timeout) from None
    except httpx.HTTPError:
        raise FetchError(
            str(url), "unreachable", f"the download from {url.host} broke off; try again"
        ) from None
    return Page(str(url), media_type or "text/html", response.charset_encoding, bytes(body))


def _remaining(deadline: float, url: httpx.URL, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timed_out(url, timeout)
    return left


def _timed_out(url: httpx.URL, timeout: float) -> FetchError:
    return FetchError(
        str(url), "unreachable", f"{url.host} sent no complete answer within {timeout:g} seconds"
    )


def _too_large(url: httpx.URL, max_bytes: int) -> FetchError:
    return FetchError(
        str(url),
        "too_large",
        f"the page is larger than {max_bytes:,} bytes; paste the text instead",
    )


#: Text codecs for host names, never for a page, whose decoding of a page is garbage.
_NOT_DOCUMENT_ENCODINGS = frozenset({"idna", "punycode"})


def _decoded(body: bytes, charset: str | None) -> str | None:
    """``body`` decoded with the page's ``charset``; ``None`` when there is none or it is no
    text encoding Python can apply (a bogus header such as ``base64`` or ``idna``)."""
    if not charset:
        return None
    try:
        if codecs.lookup(charset).name in _NOT_DOCUMENT_ENCODINGS:
            return None
        return body.decode(charset, errors="replace")
    except (LookupError, UnicodeError, ValueError):
        return None
