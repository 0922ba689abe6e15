"""The web page in a real browser: Debian's Chromium driven by Playwright.

Pastes the example article, submits, reads a highlight's tooltip by mouse and by
keyboard, filters by technique and by confidence band, follows the permanent link, and
checks the page at phone width; then reads, as a reader would, the band, voice and key
words in a tooltip, both colours where two techniques overlap, and the article score in
the header and the history. Needs Chromium and Playwright: run ``bash scripts/test.sh``,
which installs them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from stubs import FixedDetector
from support.browser import PHONE_VIEWPORT, browser_missing, chromium
from support.model_packages import offer_model_directory
from support.server import running_server

from propscan.core.article_score import REFERENCE_FILE, ArticleReference
from propscan.core.spans import Span
from propscan.core.techniques import get_technique
from propscan.models.base import Prediction, TokenScore, TokenScores
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

    # Hovering a highlight shows its technique, band, score and definition.
    tip = page.locator("#tip")
    first = marks.first
    first.hover()
    expect(tip).to_be_visible()
    names = technique_names(analysis, first.get_attribute("data-spans") or "")
    tip_text = tip.inner_text()
    assert any(name in tip_text for name in names)
    assert re.search(r"(STRONG|MODERATE|WEAK)\s+0\.\d\d", tip_text)
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

    # The band filter hides weaker marks and updates the legend counts.
    page.get_by_label("Show marks").select_option("moderate")
    kept = sum(1 for span in spans if span["band"] in ("moderate", "strong"))
    expect(page.locator("#shown-count")).to_have_text(f"{kept} of {len(spans)} fragments shown")
    page.get_by_label("Show marks").select_option("weak")
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
    page.locator("#min-band").focus()
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


QUOTED = (
    "Council row\n\n"
    'The minister said: "These traitors and cowards will pay for it." '
    "The council met again on Friday.\n"
)
INSIDE = Span(QUOTED.index("traitors"), QUOTED.index(" will"), "Name_Calling,Labeling", 0.5)
WORD = Span(QUOTED.index("traitors"), QUOTED.index(" and"), "Loaded_Language", 0.4)
OWN = Span(QUOTED.index("council met"), QUOTED.index(" on Friday"), "Doubt", 0.2)


class ScoredDetector(FixedDetector):
    """Its spans, and a token probability per word: high for the insults, low otherwise."""

    def predict(self, texts: Sequence[str], threshold: float | None = None) -> list[Prediction]:
        return [
            Prediction(found.spans, TokenScores.of(
                TokenScore(m.start(), m.end(), 0.9 if m.group() in ("traitors", "cowards") else 0.2)
                for m in re.finditer(r"\w+", text)
            ))
            for text, found in zip(texts, super().predict(texts, threshold), strict=True)
        ]  # fmt: skip


@pytest.fixture(scope="module")
def reader_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A service whose model marks three known spans (two techniques overlapping inside a
    quotation) and ranks articles against a small reference."""
    folder = tmp_path_factory.mktemp("reader")
    detector = ScoredDetector([INSIDE, WORD, OWN])
    detector.directory = folder  # type: ignore[misc]
    reference = ArticleReference("a test corpus", "fixed 0", 0.5, (0.0, 0.1, 0.2, 0.9))
    (folder / REFERENCE_FILE).write_text(json.dumps(reference.to_dict()), encoding="utf-8")
    with running_server(create_app(model=detector, db_path=folder / "history.db")) as url:
        yield url


def rgb(colour: str) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_a_reader_sees_band_voice_key_words_and_both_colours(page: Page, reader_url: str) -> None:
    from playwright.sync_api import expect

    analysis = submit_article(page, reader_url, QUOTED)
    assert [s["quote"] is not None for s in analysis["spans"]] == [True, True, False]
    overlap = page.locator("mark.seg.multi").first
    labelling, loaded = get_technique(INSIDE.technique), get_technique(WORD.technique)

    # Both techniques show: the more confident fills the highlight, the other underlines it.
    fill = overlap.evaluate("mark => getComputedStyle(mark).backgroundColor")
    underline = overlap.evaluate("mark => getComputedStyle(mark).boxShadow")
    assert fill == rgb(labelling.colour) and rgb(loaded.colour) in underline

    # A quotation mark stands before a mark inside a quote, and none before the outlet's own.
    before = "mark => getComputedStyle(mark, '::before').content"
    assert page.locator("mark.seg").first.evaluate(before) == '"\u275d"'
    assert page.locator("mark.seg", has_text="council met").evaluate(before) == "none"

    # The tooltip gives each technique with its band and score, whose words these are, the
    # words that carried the decision, the definition and its example.
    overlap.hover()
    tip = page.locator("#tip")
    expect(tip).to_be_visible()
    items = tip.locator(".tip-item")
    expect(items).to_have_count(2)
    strong, moderate = items.nth(0).inner_text(), items.nth(1).inner_text()
    assert labelling.name in strong and "STRONG" in strong and "0.50" in strong
    assert loaded.name in moderate and "MODERATE" in moderate and "0.40" in moderate
    assert "\u275d In a quote from The minister" in strong
    assert labelling.definition in strong and f"Example: {labelling.example}" in strong
    assert "Key words: traitors, cowards" in strong

    own = page.locator("mark.seg", has_text="council met")
    own.hover()
    expect(tip).to_contain_text("In the outlet's own voice")
    expect(tip.locator(".tip-band")).to_have_text("weak")


def test_a_reader_sees_the_article_score_in_the_header_and_the_history(
    page: Page, reader_url: str
) -> None:
    from playwright.sync_api import expect

    analysis = submit_article(page, reader_url, QUOTED)
    score = analysis["article_score"]
    assert (score["marked_sentences"], score["sentences"]) == (2, 3)
    rank = round(score["percentile"])  # 2 of 3 sentences: above 0, 0.1 and 0.2 of four
    assert rank == 75
    header = page.locator("#article-score")
    expect(header).to_contain_text(f"Article score {rank} of 100")
    expect(header).to_contain_text("An article score of N means")
    expect(page.locator("#threshold")).to_have_text("0.50")

    page.get_by_role("link", name="History").click()
    row = page.locator("table.history tbody tr").first
    expect(row.locator("td.article-score")).to_have_text(str(rank))
    expect(page.locator("main")).to_contain_text("An article score of N means")


LONG = (
    "Opening line of the piece.\n\n"
    + "The corrupt elite and their paid liars have betrayed every honest family in this "
    "country again and again, and they will keep doing it until somebody finally stops "
    "them for good, whatever the cost to the rest of us and to our children. "
    + "The vote is on Monday.\n\n"
    + "Quiet closing line, nothing to see.\n" * 30
    + "They are traitors.\n"
)
LONG_MARK = Span(LONG.index("The corrupt"), LONG.index(" The vote"), "Loaded_Language", 0.8)
WEAK_MARK = Span(LONG.index("The vote"), LONG.index(" is on"), "Doubt", 0.1)
LAST_MARK = Span(LONG.rindex("traitors"), len(LONG) - 2, "Name_Calling,Labeling", 0.9)


@pytest.fixture(scope="module")
def layout_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("layout")
    detector = FixedDetector([LONG_MARK, WEAK_MARK, LAST_MARK])
    with running_server(create_app(model=detector, db_path=folder / "history.db")) as url:
        yield url


def test_tooltips_stay_readable_on_any_line_of_a_mark_and_at_the_window_edge(
    browser: Browser, layout_url: str
) -> None:
    """Pointing at the second line of a wrapped mark keeps its tooltip up, below that
    line; a mark at the bottom of the window gets its tooltip above it."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 700, "height": 600})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda note: errors.append(note.text) if note.type == "error" else None)
        submit_article(page, layout_url, LONG)
        tip = page.locator("#tip")
        long_mark = page.locator("mark.seg[data-spans='0']")
        lines = long_mark.evaluate(
            "m => { m.scrollIntoView({block: 'center'});"
            " return Array.from(m.getClientRects(), r => [r.left, r.top, r.right, r.bottom]); }"
        )
        assert len(lines) >= 2, "the long mark wraps"
        left, top, right, bottom = lines[1]
        for step in range(5):
            page.mouse.move((left + right) / 2 + step * 3, (top + bottom) / 2)
        expect(tip).to_be_visible()
        box = tip.bounding_box()
        assert box is not None and box["y"] >= bottom  # below the line pointed at

        last = page.locator("mark.seg[data-spans='2']")
        last.evaluate("m => window.scrollBy(0, m.getBoundingClientRect().bottom - innerHeight + 4)")
        last.hover()
        expect(tip).to_be_visible()
        box = tip.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 600
        assert errors == []
    finally:
        context.close()


def test_the_margin_follows_the_filters_and_fits_at_phone_width(
    browser: Browser, layout_url: str
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        submit_article(page, layout_url, LONG)
        vote_row = page.locator(".row", has=page.locator("mark.seg[data-spans='1']"))
        long_row = page.locator(".row", has=page.locator("mark.seg[data-spans='0']"))
        expect(vote_row.locator(".score-value")).to_contain_text("weak")
        for label in page.locator(".margin .score-value").all():
            box, sentence = label.bounding_box(), label.locator("xpath=../../p").bounding_box()
            assert box is not None and sentence is not None
            assert box["x"] + box["width"] <= sentence["x"], "the margin runs into the text"
        page.get_by_label("Show marks").select_option("strong")
        expect(vote_row.locator(".margin meter")).to_be_hidden()
        expect(vote_row.locator(".score-value")).to_be_hidden()
        expect(long_row.locator(".score-value")).to_contain_text("strong")
        page.get_by_label("Show marks").select_option("weak")
        expect(vote_row.locator(".score-value")).to_contain_text("weak")
    finally:
        context.close()
