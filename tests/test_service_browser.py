"""The web page in a real browser: Debian's Chromium driven by Playwright.

Pastes the example article, submits, reads a highlight's tooltip by mouse and by
keyboard, filters by technique and by confidence, follows the permanent link, and
checks the page at phone width. Needs Chromium and Playwright: run
``bash scripts/test.sh``, which installs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from support.browser import PHONE_VIEWPORT, browser_missing, chromium
from support.model_packages import offer_model_directory
from support.server import running_server

from propscan.core.techniques import get_technique
from propscan.models.registry import describe_model
from propscan.service.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow

MARK_TEXTS_BY_SPAN = """() => {
  const bySpan = {};
  for (const mark of document.querySelectorAll("mark.seg[data-spans]")) {
    for (const id of mark.dataset.spans.split(" ")) {
      bySpan[id] = (bySpan[id] || "") + mark.textContent;
    }
  }
  return bySpan;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    problem = browser_missing()
    if problem is not None:
        pytest.fail(f"{problem}: run 'bash scripts/test.sh' to install Chromium and Playwright")
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def base_url(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("browser") / "history.db"
    with running_server(create_app(model=tiny_model, db_path=database)) as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def submit_article(page: Page, base_url: str, text: str) -> dict[str, Any]:
    """Paste ``text`` into the form, submit it, and return the stored analysis."""
    page.goto(f"{base_url}/")
    page.get_by_label("Article text").fill(text)
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_url(re.compile(r"/a/[A-Za-z0-9_-]+$"))
    analysis_id = page.url.rsplit("/", 1)[1]
    return httpx.get(f"{base_url}/api/analyses/{analysis_id}", timeout=30).json()


def technique_names(analysis: dict[str, Any], span_ids: str) -> set[str]:
    return {get_technique(analysis["spans"][int(i)]["technique"]).name for i in span_ids.split()}


def test_paste_hover_filter_and_permanent_link(
    page: Page, base_url: str, sample_article: str
) -> None:
    from playwright.sync_api import expect

    analysis = submit_article(page, base_url, sample_article)
    assert analysis["text"] == sample_article
    spans = analysis["spans"]
    assert spans, "the tiny model finds spans in the example article"
    marks = page.locator("mark.seg[data-spans]")
    expect(marks.first).to_be_visible()

    # Every span is highlighted exactly: its marks' text is its fragment.
    by_span = page.evaluate(MARK_TEXTS_BY_SPAN)
    for index, span in enumerate(spans):
        assert "".join(by_span[str(index)].split()) == "".join(span["fragment"].split())

    # Hovering a highlight shows its technique, confidence and definition.
    tip = page.locator("#tip")
    first = marks.first
    first.hover()
    expect(tip).to_be_visible()
    names = technique_names(analysis, first.get_attribute("data-spans") or "")
    tip_text = tip.inner_text()
    assert any(name in tip_text for name in names)
    assert re.search(r"\d+%", tip_text)
    assert any(
        get_technique(spans[int(i)]["technique"]).definition in tip_text
        for i in (first.get_attribute("data-spans") or "").split()
    )
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()

    # Filtering by a technique removes exactly its highlights.
    counts: dict[str, int] = {}
    for span in spans:
        counts[span["technique"]] = counts.get(span["technique"], 0) + 1
    label = max(counts, key=lambda key: counts[key])
    technique = get_technique(label)
    button = page.locator(".legend-item", has_text=technique.name)
    expect(button.locator(".count")).to_have_text(str(counts[label]))
    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#shown-count")).to_have_text(
        f"{len(spans) - counts[label]} of {len(spans)} fragments shown"
    )
    for mark in marks.all():
        only_this = {spans[int(i)]["technique"] for i in mark.get_attribute("data-spans").split()}
        assert ("off" in (mark.get_attribute("class") or "")) == (only_this == {label})
    button.click()
    expect(page.locator("mark.seg.off")).to_have_count(0)

    # The confidence slider hides spans below it and updates the legend counts.
    page.locator("#min-score").fill("1")
    kept = sum(1 for span in spans if span["score"] is None or span["score"] >= 1)
    expect(page.locator("#shown-count")).to_have_text(f"{kept} of {len(spans)} fragments shown")
    page.locator("#min-score").fill("0")
    expect(page.locator("#shown-count")).to_have_text(
        f"{len(spans)} of {len(spans)} fragments shown"
    )

    # The permanent link opens the same analysis.
    heading = page.locator("h1").inner_text()
    page.get_by_role("link", name="Permanent link").click()
    page.wait_for_load_state()
    assert page.url == f"{base_url}/a/{analysis['id']}"
    expect(page.locator("h1")).to_have_text(heading)
    expect(page.locator("mark.seg[data-spans]")).to_have_count(marks.count())


def test_keyboard_reaches_a_highlight_and_reads_its_tooltip(
    page: Page, base_url: str, sample_article: str
) -> None:
    from playwright.sync_api import expect

    analysis = submit_article(page, base_url, sample_article)
    page.locator("#min-score").focus()
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('mark.seg')"):
            break
    else:
        pytest.fail("Tab never reached a highlighted fragment")
    focused = page.locator("mark.seg:focus")
    expect(page.locator("#tip")).to_be_visible()
    assert page.locator("#tip").get_attribute("role") == "tooltip"
    assert focused.get_attribute("aria-describedby") == "tip"
    names = technique_names(analysis, focused.get_attribute("data-spans") or "")
    assert any(name in page.locator("#tip").inner_text() for name in names)


def test_emoji_and_markup_in_the_browser(page: Page, base_url: str, sample_article: str) -> None:
    text = "🙂🇺🇸 <script>window.pwned = 1</script>\n\n" + sample_article.replace(
        "\n\n", "\n\n👍🏽 "
    )
    analysis = submit_article(page, base_url, text)
    assert analysis["text"] == text
    assert page.evaluate("window.pwned") is None
    assert "<script>" in page.locator(".sentence").first.inner_text()
    by_span = page.evaluate(MARK_TEXTS_BY_SPAN)
    assert analysis["spans"]
    for index, span in enumerate(analysis["spans"]):
        assert "".join(by_span[str(index)].split()) == "".join(span["fragment"].split())


def test_readable_at_phone_width(browser: Browser, base_url: str, sample_article: str) -> None:
    context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        submit_article(page, base_url, sample_article)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
        font_size = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.sentence')).fontSize)"
        )
        assert font_size >= 15
        for path in ("/", "/history", "/about"):
            page.goto(base_url + path)
            assert page.evaluate(
                "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
            ), f"{path} scrolls sideways at phone width"
    finally:
        context.close()


@pytest.fixture
def choice_url(
    other_techniques_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model: Path
) -> Iterator[str]:
    """A service of the tiny model with ``other`` (a model of another technique set) installed."""
    offer_model_directory(tmp_path / "site", "other", other_techniques_model)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with running_server(create_app(model=tiny_model, db_path=tmp_path / "history.db")) as url:
        yield url


def test_the_reader_chooses_the_model_and_its_colours_follow(
    page: Page, choice_url: str, sample_article: str, other_techniques_model: Path
) -> None:
    from playwright.sync_api import expect

    other = describe_model(other_techniques_model)
    page.goto(f"{choice_url}/")
    menu = page.get_by_label("Model")
    expect(menu).to_have_value("propscan-baseline")  # the service's own model first
    menu.select_option("other")
    page.get_by_label("Article text").fill(sample_article)
    page.locator(".options summary").click()
    page.get_by_label("Detection threshold (optional, 0–1)").fill("0")
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_url(re.compile(r"/a/[A-Za-z0-9_-]+$"))
    analysis = httpx.get(f"{choice_url}/api/analyses/{page.url.rsplit('/', 1)[1]}").json()
    assert analysis["model"]["name"] == other.name and analysis["spans"]
    expect(page.locator(".meta")).to_contain_text(f"{other.name} {other.version}")
    # each highlight is filled with the colour of its most confident span's technique
    for mark in page.locator("mark.seg[data-spans]").all()[:20]:
        ids = (mark.get_attribute("data-spans") or "").split()
        best = max(ids, key=lambda i: analysis["spans"][int(i)]["score"])
        colour = other.techniques.describe(analysis["spans"][int(best)]["technique"]).colour
        fill = mark.evaluate("m => getComputedStyle(m).getPropertyValue('--c').trim()")
        assert fill.lower() == colour.lower()
    # the form comes back with the model of the last failed attempt still chosen
    page.goto(f"{choice_url}/")
    page.get_by_label("Model").select_option("other")
    page.get_by_role("button", name="Analyse").click()
    expect(page.locator("#form-error")).to_contain_text("empty")
    expect(page.get_by_label("Model")).to_have_value("other")
