"""Regenerate the screenshots in docs/: the result page, a tooltip, the history (desktop
1280 px wide, and the page on a 390 px phone), a corpus report's top and its ranked
article list (1200 px), and the browser extension on a news page.

    python scripts/screenshots.py [--model DIR] [--article FILE] [--out docs] [--no-reports]
                                  [--no-extension]

Serves analyses from a throw-away database on a free loopback port and photographs them
with headless Chromium: the example article (a news article full of quotations), the
sample op-ed shipped with propscan and two PTC dev articles, so that the history lists
several. Then runs ``propscan batch`` and ``propscan report`` on the synthetic
multi-outlet corpus of ``benchmarks/make_synthetic_corpus.py`` and photographs the report.
Last, it builds the extension (``npm ci`` must have run in ``extension/``), marks the
fixture news article with it and photographs the page with a tooltip showing, the
extension's popup drawn in its corner as the browser shows it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from PIL import Image, ImageDraw
from playwright.sync_api import Page

from propscan.errors import PropscanError
from propscan.examples import sample_text
from propscan.ptc.splits import load_split
from propscan.service.app import create_app
from propscan.service.security import token_digest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the browser and server helpers of the tests

from support.browser import DESKTOP_VIEWPORT, chromium, screenshot_page  # noqa: E402
from support.extension import build_extension, chromium_with_extension  # noqa: E402
from support.pages import serving_pages  # noqa: E402
from support.server import running_server  # noqa: E402

EXAMPLE = ROOT.parent / "shared" / "examples" / "abu-kamal-article.txt"
#: A highlight to point at for the tooltip: one inside a quotation, else any.
TOOLTIP_TARGETS = ("mark.seg.quote-start.multi", "mark.seg.quote-start", "mark.seg")
REPORT_HEIGHT = 1100
EXTENSION_SHOT = "extension.png"
#: Where the browser draws an extension's popup: under the toolbar, at the right edge.
POPUP_MARGIN = 12
POPUP_WIDTH = 352


def _post(base_url: str, text: str, title: str | None = None) -> str:
    response = httpx.post(
        f"{base_url}/api/analyze", json={"text": text, "title": title}, timeout=300
    )
    response.raise_for_status()
    return f"{base_url}/a/{response.json()['id']}"


def take_screenshots(text: str, model: str | None, out: Path) -> list[Path]:
    """Analyse ``text`` (and a few more for the history) on a private server and
    photograph its page, a tooltip, the phone view and the history."""
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(model=model, db_path=Path(scratch) / "history.db")
        with running_server(app) as base_url:
            _post(base_url, sample_text())
            for article in load_split(None, "dev").articles[:2]:
                _post(base_url, article.text, article.title)
            page_url = _post(base_url, text)
            with chromium() as browser:
                target = next(
                    (t for t in TOOLTIP_TARGETS if _has(browser, page_url, t)), "mark.seg"
                )
                return [
                    screenshot_page(browser, page_url, out / "service-desktop.png"),
                    screenshot_page(browser, page_url, out / "service-phone.png", phone=True),
                    screenshot_page(
                        browser, page_url, out / "service-tooltip.png", height=700, hover=target
                    ),
                    screenshot_page(
                        browser, f"{base_url}/history", out / "service-history.png", height=520
                    ),
                ]


def _has(browser: object, page_url: str, selector: str) -> bool:
    context = browser.new_context()  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(page_url)
        return bool(page.locator(selector).count())
    finally:
        context.close()


def _propscan(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "propscan", *args], check=True)


def take_report_screenshots(model: str | None, out: Path) -> list[Path]:
    """Batch and report the synthetic multi-outlet corpus, and photograph the report's
    top, its ranked article list and its outlet section."""
    model_option = ["--model", model] if model else []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        corpus = work / "synthetic.jsonl"
        maker = ROOT / "benchmarks" / "make_synthetic_corpus.py"
        subprocess.run([sys.executable, str(maker), "--out", str(corpus)], check=True)
        results, report = work / "outlets", work / "outlets-report"
        _propscan("batch", str(corpus), "--out", str(results), "--no-progress", *model_option)
        _propscan("report", str(results), "--out", str(report), "--by", "outlet", *model_option)
        page_url = (report / "report.html").resolve().as_uri()
        with chromium() as browser:
            return [
                screenshot_page(browser, page_url, out / "report-top.png", height=REPORT_HEIGHT),
                screenshot_page(
                    browser, page_url, out / "report-articles.png", element="#articles"
                ),
                screenshot_page(
                    browser,
                    page_url,
                    out / "report-outlets.png",
                    element="#outlets",
                    max_height=1750,
                ),
            ]


def take_extension_screenshot(model: str | None, out: Path) -> Path:
    """The fixture news article marked by the extension, a tooltip and the popup showing."""
    token = "screenshot-token"
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(
            model, Path(scratch) / "history.db", extension_token_digest=token_digest(token)
        )
        with (
            running_server(app) as service_url,
            serving_pages() as pages,
            chromium_with_extension(build_extension()) as browser,
        ):
            browser.configure(service_url, token).get_by_text("Saved.").wait_for()
            page = browser.context.new_page()
            page.goto(f"{pages}/article.html")
            popup = browser.open_popup(page)
            popup.locator("#mark").click()
            popup.locator("#result").wait_for()
            popup.set_viewport_size({"width": POPUP_WIDTH, "height": 900})
            popup_png = Path(scratch) / "popup.png"
            popup.locator("body").screenshot(path=str(popup_png))
            page.bring_to_front()
            page.locator("mark[data-propscan-spans]").nth(tooltip_mark(page)).hover()
            page_png = Path(scratch) / "page.png"
            page.screenshot(path=str(page_png))
            return compose_with_popup(page_png, popup_png, out / EXTENSION_SHOT)


def tooltip_mark(page: Page) -> int:
    """A mark whose tooltip the popup will not hide: left of it, overlapping spans if any."""
    return int(
        page.evaluate(
            """(room) => {
              const marks = [...document.querySelectorAll("mark[data-propscan-spans]")];
              const free = marks.filter(m => m.getBoundingClientRect().left + 380 < room);
              const pick = free.find(m => m.hasAttribute("data-propscan-multi")) ?? free[0];
              return Math.max(0, marks.indexOf(pick));
            }""",
            DESKTOP_VIEWPORT["width"] - POPUP_WIDTH - POPUP_MARGIN,
        )
    )


def compose_with_popup(page_png: Path, popup_png: Path, path: Path) -> Path:
    """The page with the popup laid over its top right corner, bordered and shadowed."""
    page, popup = Image.open(page_png).convert("RGB"), Image.open(popup_png).convert("RGB")
    left = page.width - popup.width - POPUP_MARGIN
    shadow = ImageDraw.Draw(page, "RGBA")
    for spread in range(6, 0, -1):
        box = (
            left - spread,
            POPUP_MARGIN - spread + 2,
            left + popup.width + spread,
            POPUP_MARGIN + popup.height + spread + 2,
        )
        shadow.rectangle(box, fill=(0, 0, 0, 10))
    page.paste(popup, (left, POPUP_MARGIN))
    shadow.rectangle(
        (left - 1, POPUP_MARGIN - 1, left + popup.width, POPUP_MARGIN + popup.height),
        outline=(140, 140, 140),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    page.save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--article", type=Path, default=EXAMPLE, help="article text file")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="output directory")
    parser.add_argument(
        "--reports", action=argparse.BooleanOptionalAction, default=True, help="report pictures"
    )
    parser.add_argument(
        "--extension",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the browser extension's picture",
    )
    args = parser.parse_args(argv)
    try:
        text = args.article.read_text(encoding="utf-8")
        shots = take_screenshots(text, args.model, args.out)
        if args.reports:
            shots += take_report_screenshots(args.model, args.out)
        if args.extension:
            shots.append(take_extension_screenshot(args.model, args.out))
        for path in shots:
            print(path)
    except (PropscanError, OSError, httpx.HTTPError, subprocess.CalledProcessError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
