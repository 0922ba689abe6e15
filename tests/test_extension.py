"""The browser extension in Chromium, against a live ``propscan serve``.

Debian's Chromium runs headless with the built extension (``extension/dist/chromium``);
fixture pages are served on one loopback port and ``propscan serve`` (the tiny model)
listens on another. Each test clicks the extension's button on a page, as a reader does,
and uses the popup: every mark's text must be its span's fragment exactly, the popup's
counts the API's, and "clear marks" must give back the page's serialised DOM. Needs
Chromium, Playwright and the extension's npm packages: run ``bash scripts/test.sh``.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fuzzing import fuzz
from hypothesis import given, target
from hypothesis import strategies as st
from support.browser import browser_missing
from support.extension import ExtensionBrowser, build_extension, chromium_with_extension
from support.pages import (
    article_sentences,
    closed_address,
    propaganda_sentences,
    serving_pages,
    silent_server,
)
from support.serve import Served, propscan_serve

import propscan

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

#: The service's text limit in these tests: the long page fits, the longer one does not.
MAX_CHARS = 60_000
LONG_PAGE = "/long-45000.html"
TOO_LONG_PAGE = "/long-70000.html"

#: Each span's marks in page order: their text, and what the reader sees between one mark
#: and the next: nothing, a line break (<br>) or a new block (a blank line).
MARKS_BY_SPAN = """() => {
  const blockOf = (node) => {
    for (let e = node.parentElement; e; e = e.parentElement) {
      const display = getComputedStyle(e).display;
      if (!display.startsWith("inline") && display !== "contents") return e;
    }
    return null;
  };
  const between = (a, b) => {
    if (blockOf(a) !== blockOf(b)) return "\\n\\n";
    const range = document.createRange();
    range.setStartAfter(a);
    range.setEndBefore(b);
    return range.cloneContents().querySelector("br") ? "\\n" : "";
  };
  const bySpan = {};
  for (const mark of document.querySelectorAll("mark[data-propscan-spans]")) {
    for (const id of mark.getAttribute("data-propscan-spans").split(" ")) {
      const marks = (bySpan[id] ??= []);
      const gap = marks.length ? between(marks[marks.length - 1].node, mark) : "";
      marks.push({ node: mark, text: mark.textContent, gap });
    }
  }
  return Object.fromEntries(
    Object.entries(bySpan).map(([id, marks]) => [id, marks.map(m => [m.gap, m.text])]),
  );
}"""

#: Where each block of text is: marks must not move anything.
LAYOUT = """() => [...document.querySelectorAll("h1, h2, p, li, blockquote, figure")].map(e => {
  const r = e.getBoundingClientRect();
  return [e.tagName, r.x, r.y, r.width, r.height];
})"""

SERIALISED = "() => document.documentElement.outerHTML"
#: Numbers for generated pages, so that each is a new address (and a new click).
GENERATED = itertools.count()


def rendered(marks: list[list[str]]) -> str:
    """The text a span's marks show: white space collapsed as the page renders it, a
    line break at a <br> and a blank line where the span goes on in the next block."""
    shown, line = "", ""
    for gap, text in marks:
        if gap:
            shown, line = shown + collapsed(line) + gap, ""
        line += text
    return shown + collapsed(line)


def collapsed(text: str) -> str:
    """Runs of CSS's collapsible white space as one space, as a page shows them."""
    return re.sub(r"[ \t\n\r\f]+", " ", text)


@pytest.fixture(scope="module")
def service(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("extension-service")
    with propscan_serve(
        folder / "serve.log",
        "--model",
        tiny_model,
        "--db",
        folder / "history.db",
        "--max-chars",
        str(MAX_CHARS),
    ) as served:
        assert served.token, "propscan serve shows a token the first time"
        yield served


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    with serving_pages() as url:
        yield url


@pytest.fixture(scope="module")
def browser(service: Served) -> Iterator[ExtensionBrowser]:
    problem = browser_missing()
    if problem is not None:
        pytest.fail(f"{problem}: run 'bash scripts/test.sh' to install Chromium and Playwright")
    with chromium_with_extension(build_extension()) as launched:
        yield launched


@pytest.fixture
def configured(browser: ExtensionBrowser, service: Served) -> ExtensionBrowser:
    """The extension set up for the live service (each test may change the settings)."""
    assert service.token is not None
    options = browser.configure(service.url, service.token)
    options.get_by_text("Saved.").wait_for()
    options.close()
    return browser


@pytest.fixture
def reader(configured: ExtensionBrowser) -> Iterator[Page]:
    """A tab for the page being read."""
    page = configured.context.new_page()
    yield page
    for other in configured.context.pages:
        other.close()


def mark_page(browser: ExtensionBrowser, page: Page) -> Page:
    """Click the button on ``page``, press "Mark" in its popup and wait for the outcome."""
    popup = browser.open_popup(page)
    popup.locator("#mark").click()
    popup.wait_for_function(
        "() => !document.getElementById('result').hidden "
        "|| !document.getElementById('error').hidden"
    )
    return popup


def marked(
    browser: ExtensionBrowser, page: Page, url: str, service: Served
) -> tuple[Page, dict[str, Any]]:
    """Open ``url`` in ``page`` and mark it: the popup, and the analysis behind it."""
    page.goto(url)
    popup = mark_page(browser, page)
    return popup, analysis_of(popup, service)


def analysis_of(popup: Page, service: Served) -> dict[str, Any]:
    """The stored analysis that the popup's permanent link points to."""
    link = popup.locator("#link").get_attribute("href") or ""
    # without a link the popup shows why; the service's log says what it saw
    assert link.startswith(f"{service.url}/a/"), (
        popup.locator("#error").text_content(),
        service.log.read_text(encoding="utf-8")[-2000:],
    )
    analysis_id = link.rsplit("/", 1)[1]
    response = httpx.get(f"{service.url}/api/analyses/{analysis_id}", timeout=30)
    assert response.status_code == 200
    return response.json()


def check_marks(page: Page, analysis: dict[str, Any]) -> None:
    """Every span is marked, and its marks show exactly its fragment."""
    by_span = page.evaluate(MARKS_BY_SPAN)
    assert set(by_span) == {str(i) for i in range(len(analysis["spans"]))}
    for index, span in enumerate(analysis["spans"]):
        assert rendered(by_span[str(index)]) == span["fragment"], (index, span)


def check_marks_and_counts(page: Page, popup: Page, service: Served) -> dict[str, Any]:
    """The analysis behind the popup, checked against the marks and the popup's counts."""
    analysis = analysis_of(popup, service)
    check_marks(page, analysis)
    assert popup_counts(popup) == api_counts(analysis, service)
    return analysis


def clear_marks(page: Page, popup: Page, serialised_before: str) -> None:
    """Press "Clear marks"; the page's DOM must be what it was before marking."""
    from playwright.sync_api import expect

    popup.get_by_role("button", name="Clear marks").click()
    expect(popup.locator("#status")).to_have_text("Marks cleared; the page is as it was.")
    assert page.evaluate(SERIALISED) == serialised_before


def popup_counts(popup: Page) -> dict[str, int]:
    rows = popup.locator("#techniques li")
    return {
        rows.nth(i).locator(".name").inner_text(): int(rows.nth(i).locator(".count").inner_text())
        for i in range(rows.count())
    }


def api_counts(analysis: dict[str, Any], service: Served) -> dict[str, int]:
    techniques = httpx.get(f"{service.url}/api/techniques", timeout=30).json()
    names = {technique["label"]: technique["name"] for technique in techniques}
    return dict(Counter(names.get(span["technique"], "Unlabelled") for span in analysis["spans"]))


def stored_count(service: Served) -> int:
    return httpx.get(f"{service.url}/healthz", timeout=30).json()["analyses"]


# --- the build ---------------------------------------------------------------------------------


@pytest.mark.parametrize("browser_name", ["chromium", "firefox"])
def test_the_build_asks_for_no_access_to_pages_beyond_a_click(browser_name: str) -> None:
    folder = build_extension().parent / browser_name
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["manifest_version"] == 3
    assert manifest["version"] == propscan.__version__
    assert sorted(manifest["permissions"]) == ["activeTab", "scripting", "storage"]
    assert "host_permissions" not in manifest and "content_scripts" not in manifest
    background = manifest["background"]
    assert background == (
        {"service_worker": "background.js"}
        if browser_name == "chromium"
        else {"scripts": ["background.js"]}
    )
    files = {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}
    assert {"background.js", "content.js", "popup.html", "options.html", "marks.css"} <= files
    with zipfile.ZipFile(
        folder.parent / f"propscan-{browser_name}-{manifest['version']}.zip"
    ) as zipped:
        assert set(zipped.namelist()) == files


# --- marking ---------------------------------------------------------------------------------


def test_a_news_article_is_marked_exactly_and_cleared_without_a_trace(
    configured: ExtensionBrowser, reader: Page, pages: str, service: Served
) -> None:
    from playwright.sync_api import expect

    reader.goto(f"{pages}/article.html")
    before, layout = reader.evaluate(SERIALISED), reader.evaluate(LAYOUT)
    popup = mark_page(configured, reader)
    analysis = check_marks_and_counts(reader, popup, service)

    # the article's text, read across links, emphasis, quotes and paragraphs; no menus
    text = analysis["text"]
    assert text.startswith(
        "Protest Outside Parliament Turns Angry 🎉\n\nProtesters gathered outside parliament"
    )
    assert "corrupt thieves who had betrayed every working family in the country." in text
    assert "greedy\u00a0vultures and 𝒜ll the ministers spendthrift bureaucrats" in text
    assert "\n\nAnother speaker" in text and "Sport" not in text and "Privacy" not in text
    assert analysis["title"] == "Protest Outside Parliament | The Marren Herald"
    assert analysis["source"] == "The Marren Herald"
    assert analysis["spans"], "the tiny model finds spans in the article"
    assert any(ord(c) > 0xFFFF for c in text[: analysis["spans"][-1]["end"]]), "astral text"

    spans = len(analysis["spans"])
    expect(popup.locator("#shown-count")).to_have_text(f"{spans} of {spans} fragments shown")
    assert reader.evaluate(LAYOUT) == layout, "marks moved the page's text"
    assert reader.evaluate("document.querySelectorAll('mark.own').length") == 1
    # the page's own scripts find the token neither in the page nor in the extension's storage
    assert configured.storage("local")["token"] not in reader.evaluate(SERIALISED)
    assert reader.evaluate("typeof chrome === 'undefined' || chrome.storage === undefined")
    clear_marks(reader, popup, before)


def test_the_tooltip_names_technique_confidence_and_definition(
    configured: ExtensionBrowser, reader: Page, pages: str, service: Served
) -> None:
    from playwright.sync_api import expect

    _, analysis = marked(configured, reader, f"{pages}/article.html", service)
    techniques = {
        t["label"]: t for t in httpx.get(f"{service.url}/api/techniques", timeout=30).json()
    }
    reader.bring_to_front()
    mark = reader.locator("mark[data-propscan-spans]").first
    mark.hover()
    tip = reader.locator("propscan-tip")
    expect(tip).to_be_visible()
    ids = [int(i) for i in (mark.get_attribute("data-propscan-spans") or "").split()]
    top = max(ids, key=lambda i: (analysis["spans"][i]["score"] or 0, -i))
    span = analysis["spans"][top]
    technique = techniques[span["technique"]]
    first_row = tip.locator("propscan-tip-row").first
    expect(first_row).to_contain_text(f"{technique['name']} {round(100 * span['score'])}%")
    expect(first_row).to_contain_text(technique["definition"])
    reader.keyboard.press("Escape")
    expect(tip).to_be_hidden()
    mark.focus()  # keyboard users get it too
    expect(tip).to_be_visible()
    assert tip.get_attribute("role") == "tooltip"
    assert mark.get_attribute("aria-describedby") == tip.get_attribute("id")
    # Scrolled away with the keyboard, the mark takes its tip with it.
    reader.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    reader.evaluate("document.documentElement.style.minHeight = '4000px'")
    reader.evaluate("window.scrollTo(0, 4000)")
    expect(tip).to_be_hidden()


def test_filters_hide_techniques_and_low_confidence(
    configured: ExtensionBrowser, reader: Page, pages: str, service: Served
) -> None:
    from playwright.sync_api import expect

    popup, analysis = marked(configured, reader, f"{pages}/article.html", service)
    spans = analysis["spans"]
    counts = Counter(span["technique"] for span in spans)
    label = max(counts, key=lambda key: counts[key])
    row = popup.locator(f"#techniques li[data-label='{label}']")
    row.get_by_role("checkbox").uncheck()
    total = len(spans)
    shown = popup.locator("#shown-count")
    expect(shown).to_have_text(f"{total - counts[label]} of {total} fragments shown")
    for mark in reader.locator("mark[data-propscan-spans]").all():
        ids = (mark.get_attribute("data-propscan-spans") or "").split()
        only_this = {spans[int(i)]["technique"] for i in ids} == {label}
        assert (mark.get_attribute("data-propscan-off") is not None) == only_this
        assert mark.get_attribute("tabindex") == ("-1" if only_this else "0")  # no Tab stop
    row.get_by_role("checkbox").check()
    expect(shown).to_have_text(f"{total} of {total} fragments shown")
    expect(reader.locator("mark[data-propscan-off]")).to_have_count(0)

    popup.locator("#min-score").fill("1")
    kept = sum(1 for span in spans if span["score"] is None or span["score"] >= 1)
    expect(shown).to_have_text(f"{kept} of {total} fragments shown")
    expect(popup.locator("#min-score-value")).to_have_text("100%")


def test_only_the_article_is_read_on_a_page_with_sidebars_ads_and_an_iframe(
    configured: ExtensionBrowser, reader: Page, pages: str, service: Served
) -> None:
    reader.goto(f"{pages}/sidebars.html")
    frame_before = reader.frame_locator("iframe").locator("body").inner_html()
    before = reader.evaluate(SERIALISED)
    popup = mark_page(configured, reader)
    text = check_marks_and_counts(reader, popup, service)["text"]
    assert text.startswith("Residents fear the plan will turn our quiet streets into a crime zone")
    assert "decision is expected before the end of the month." in text
    for elsewhere in ("Most read", "SALE", "Sponsored:", "Win a free cruise", "Reader42", "Home"):
        assert elsewhere not in text
    assert reader.frame_locator("iframe").locator("body").inner_html() == frame_before
    clear_marks(reader, popup, before)


def test_a_very_long_article_is_marked_exactly(
    configured: ExtensionBrowser, reader: Page, pages: str, service: Served
) -> None:
    reader.goto(f"{pages}{LONG_PAGE}")
    before = reader.evaluate(SERIALISED)
    popup = mark_page(configured, reader)
    analysis = check_marks_and_counts(reader, popup, service)
    assert 45_000 <= len(analysis["text"]) <= MAX_CHARS
    assert analysis["text"].count("\n\n") >= 150  # every paragraph, in order
    assert len(analysis["spans"]) > 50
    clear_marks(reader, popup, before)


def test_the_permanent_link_opens_the_result_on_the_service(
    configured: ExtensionBrowser, reader: Page, pages: str, service: Served
) -> None:
    popup, analysis = marked(configured, reader, f"{pages}/article.html", service)
    with configured.context.expect_page() as opened:
        popup.get_by_role("link", name="Full result on your propscan service").click()
    result = opened.value
    result.wait_for_load_state()
    assert result.url == f"{service.url}/a/{analysis['id']}"
    assert result.locator("mark.seg[data-spans]").count() > 0


#: Inline elements to nest (no links: a paragraph of links is rightly no article).
INLINE_TAGS = ("em", "strong", "span class='x'", "b", "i", "q", "small", "abbr title='t'", "sub")
SEPARATORS = (" ", " ", " ", "  ", "\n      ", "\t", " \n ", "<br>")
EDGES = ("", "", " ", "\n  ")
DECORATIONS = ("", "", "", "🙂", "🇺🇸", "👍🏽", "𝒜", "é", "—")


@st.composite
def inline_markup(draw: st.DrawFn, words: list[str], depth: int = 0) -> str:
    """``words`` in nested inline elements, with white space of every kind between and
    at the edges of elements, and now and then a word cut in two by an element."""
    parts = []
    while words:
        size = draw(st.integers(1, min(4, len(words))))
        chunk, words = words[:size], words[size:]
        if depth < 2 and draw(st.integers(0, 2)) == 0:
            tag = draw(st.sampled_from(INLINE_TAGS))
            inner = draw(inline_markup(chunk, depth + 1))
            lead, trail = draw(st.sampled_from(EDGES)), draw(st.sampled_from(EDGES))
            parts.append(f"<{tag}>{lead}{inner}{trail}</{tag.split()[0]}>")
            continue
        text = ""
        for word in chunk:
            if len(word) > 3 and "<" not in word and draw(st.integers(0, 9)) == 0:
                word = f"{word[:2]}<b>{word[2:]}</b>"
            text += (draw(st.sampled_from(SEPARATORS)) if text else "") + word
        parts.append(text)
    markup = parts[0]
    for part in parts[1:]:
        markup += draw(st.sampled_from(SEPARATORS)) + part
    return markup


@st.composite
def generated_pages(draw: st.DrawFn) -> str:
    """A news page whose paragraphs are fixture sentences in random inline markup, with
    emoji, astral characters and hidden words strewn in."""
    sentences, loaded = article_sentences(), propaganda_sentences()
    paragraphs = []
    for _ in range(draw(st.integers(3, 5))):
        chosen = [draw(st.sampled_from(loaded))]
        while len(" ".join(chosen)) < 200:  # paragraphs of an article, not of a teaser
            chosen.append(draw(st.sampled_from(sentences)))
        words = [
            html.escape(word) + draw(st.sampled_from(DECORATIONS))
            for word in " ".join(chosen).split()
        ]
        if draw(st.booleans()):
            words.insert(draw(st.integers(0, len(words))), "<span hidden>HIDDEN WORDS</span>")
        paragraphs.append(f"<p>{draw(inline_markup(words))}</p>")
    body = "\n".join(paragraphs)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Report</title>"
        "</head><body><header><a href='/'>Valley Courier</a></header><main><article>"
        f"<h1>The Generated Report</h1>\n{body}</article></main><footer>© Valley Courier"
        "</footer></body></html>"
    )


@fuzz(6)
@given(page_html=generated_pages())
def test_marks_fit_any_inline_markup(
    configured: ExtensionBrowser, reader: Page, pages: str, service: Served, page_html: str
) -> None:
    url = f"{pages}/generated-{next(GENERATED)}.html"
    reader.route(url, lambda route: route.fulfill(body=page_html, content_type="text/html"))
    reader.goto(url)
    before = reader.evaluate(SERIALISED)
    popup = mark_page(configured, reader)
    assert popup.locator("#error").is_hidden(), popup.locator("#error").inner_text()
    analysis = check_marks_and_counts(reader, popup, service)
    target(len(analysis["spans"]))  # look for pages with many marks
    assert "HIDDEN" not in analysis["text"]
    clear_marks(reader, popup, before)
    popup.close()


# --- what goes wrong ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("/not-article.html", "This page does not look like an article"),
        ("/article.json", "This page does not look like an article"),  # the browser's JSON view
        (TOO_LONG_PAGE, f"more than the limit of {MAX_CHARS:,}"),
    ],
    ids=["not an article", "a JSON file", "too long"],
)
def test_pages_propscan_cannot_analyse_are_left_as_they_were(
    configured: ExtensionBrowser, reader: Page, pages: str, service: Served, page: str, message: str
) -> None:
    reader.goto(f"{pages}{page}")
    before = reader.evaluate(SERIALISED)
    stored = stored_count(service)
    popup = mark_page(configured, reader)
    error = popup.locator("#error").inner_text()
    assert message in error
    if page == TOO_LONG_PAGE:  # the service's own words, whatever the length
        refused = httpx.post(f"{service.url}/api/analyze", json={"text": "x" * 70_000}, timeout=60)
        pattern = re.escape(refused.json()["message"]).replace("70,000", r"[\d,]+")
        assert re.fullmatch(f"The propscan service refused: {pattern}", error), error
    assert reader.evaluate(SERIALISED) == before
    assert stored_count(service) == stored
    assert popup.get_by_role("button", name="Try again").is_visible()


def test_service_down_wrong_address_refused_token_and_timeout_are_explained(
    configured: ExtensionBrowser, reader: Page, pages: str, service: Served
) -> None:
    assert service.token is not None
    reader.goto(f"{pages}/article.html")
    before = reader.evaluate(SERIALISED)
    stored = stored_count(service)
    with silent_server() as hung, serving_pages() as other_site:
        cases = [
            (closed_address(), service.token, 60, "No propscan service answered at"),
            (other_site, service.token, 60, "No propscan service answered at"),
            (f"{service.url}/typo", service.token, 60, "it is not a propscan service"),
            (service.url, service.token + "x", 60, "the token is not this service's"),
            (hung, service.token, 2, "did not answer within 2 s"),
        ]
        for url, token, timeout, message in cases:
            configured.configure(url, token, timeout).close()
            popup = mark_page(configured, reader)
            error = popup.locator("#error").inner_text()
            assert message in error, (url, error)
            assert url in error or "token" in message
            assert reader.evaluate(SERIALISED) == before
            popup.close()
    assert stored_count(service) == stored


def test_before_it_is_set_up_the_extension_sends_nothing(
    configured: ExtensionBrowser, reader: Page, pages: str, service: Served
) -> None:
    configured.evaluate("() => chrome.storage.local.clear()")  # as just installed
    reader.goto(f"{pages}/article.html")
    before = reader.evaluate(SERIALISED)
    stored = stored_count(service)
    popup = mark_page(configured, reader)
    assert "Set the service address and the token" in popup.locator("#error").inner_text()
    assert reader.evaluate(SERIALISED) == before
    assert stored_count(service) == stored


def test_settings_the_extension_cannot_use_are_refused_on_the_options_page(
    configured: ExtensionBrowser,
) -> None:
    options = configured.configure("127.0.0.1:8000", "abc")
    options.get_by_text("Not saved: the service address must start with http://").wait_for()
    options.close()
    options = configured.configure("http://127.0.0.1:8000", "")
    options.get_by_text("Not saved: paste the token").wait_for()


def test_the_options_page_tests_the_connection(
    configured: ExtensionBrowser, service: Served
) -> None:
    assert service.token is not None
    options = configured.configure(service.url, service.token)
    options.get_by_role("button", name="Save and test the connection").click()
    options.get_by_text(f"Connected to the propscan service at {service.url}").wait_for()


# --- security --------------------------------------------------------------------------------


def test_a_page_on_another_port_cannot_use_the_service_while_the_extension_can(
    configured: ExtensionBrowser, reader: Page, pages: str, service: Served
) -> None:
    target = httpx.post(
        f"{service.url}/api/analyze", json={"text": "A shameful betrayal."}, timeout=60
    ).json()["id"]
    stored = stored_count(service)

    reader.goto(f"{pages}/attack.html")
    outcome = reader.evaluate("(args) => window.attack(args)", [service.url, target])
    assert outcome == {
        "json post": "failed",  # the browser's preflight gets no CORS answer
        "plain post": "opaque",  # sent, refused with 403 by the origin rule
        "read history": "failed",
        "delete": "failed",
    }, outcome
    reader.goto(f"{pages}/attack.html")
    with reader.expect_navigation():
        reader.evaluate("(args) => window.postForm(args)", [f"{service.url}/analyze", "text"])
    assert "another web site sent this request" in reader.content()
    reader.goto(f"{pages}/attack.html")
    with reader.expect_navigation():
        reader.evaluate(
            "(args) => window.postForm(args)", [f"{service.url}/a/{target}/delete", "none"]
        )
    assert "another web site sent this request" in reader.content()
    # a page whose own name is made to point at 127.0.0.1 (DNS rebinding) is refused too
    rebound = f"evil.example:{service.url.rsplit(':', 1)[1]}"
    response = httpx.post(
        f"{service.url}/api/analyze",
        json={"text": "Planted by another site."},
        headers={"host": rebound, "origin": f"http://{rebound}"},
        timeout=30,
    )
    assert response.status_code == 421
    assert stored_count(service) == stored
    assert httpx.get(f"{service.url}/api/analyses/{target}", timeout=30).status_code == 200

    reader.goto(f"{pages}/article.html")
    check_marks_and_counts(reader, mark_page(configured, reader), service)
    assert stored_count(service) == stored + 1
