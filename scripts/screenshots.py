"""Regenerate the screenshots in docs/: result pages (desktop 1280 px, phone 390 px wide),
corpus reports (1200 px wide) and the browser extension on a news page.

    python scripts/screenshots.py [--model DIR] [--article FILE] [--out docs] [--no-reports]
                                  [--no-extension]

Serves the example article's analysis from a throw-away database on a free loopback
port and photographs its page with headless Chromium. Then runs ``propscan batch`` and
``propscan report`` on two corpora made from PTC (the synthetic multi-outlet corpus of
``benchmarks/make_synthetic_corpus.py``, grouped by outlet, and the dev articles) and
photographs each report. Last, it builds the extension (``npm ci`` must have run in
``extension/``), marks the fixture news article with it and photographs the page with
a tooltip showing, the extension's popup drawn in its corner as the browser shows it.
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
from propscan.service.app import create_app
from propscan.service.security import token_digest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the browser and server helpers of the tests

from support.browser import (  # noqa: E402
    DESKTOP_VIEWPORT,
    chromium,
    screenshot_result_page,
)
from support.extension import build_extension, chromium_with_extension  # noqa: E402
from support.pages import serving_pages  # noqa: E402
from support.server import running_server  # noqa: E402

EXAMPLE = ROOT.parent / "shared" / "examples" / "abu-kamal-article.txt"
SHOTS = (("service-desktop.png", False), ("service-phone.png", True))
REPORT_VIEWPORT = {"width": 1200, "height": 2400}
EXTENSION_SHOT = "extension.png"
#: Where the browser draws an extension's popup: under the toolbar, at the right edge.
POPUP_MARGIN = 12
POPUP_WIDTH = 352


def take_screenshots(text: str, model: str | None, out: Path) -> list[Path]:
    """Analyse ``text`` on a private server and photograph its result page."""
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(model=model, db_path=Path(scratch) / "history.db")
        with running_server(app) as base_url:
            response = httpx.post(f"{base_url}/api/analyze", json={"text": text}, timeout=300)
            response.raise_for_status()
            page_url = f"{base_url}/a/{response.json()['id']}"
            with chromium() as browser:
                return [
                    screenshot_result_page(browser, page_url, out / name, phone=phone)
                    for name, phone in SHOTS
                ]


def _propscan(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "propscan", *args], check=True)


def take_report_screenshots(model: str | None, out: Path) -> list[Path]:
    """Batch and report two PTC-made corpora, and photograph each report's first 2400 px."""
    model_option = ["--model", model] if model else []
    shots = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        corpus = work / "synthetic.jsonl"
        maker = ROOT / "benchmarks" / "make_synthetic_corpus.py"
        subprocess.run([sys.executable, str(maker), "--out", str(corpus)], check=True)
        dev_articles = ROOT.parent / "shared" / "data" / "ptc-v2" / "dev-articles"
        for name, source, grouping in (
            ("report-outlets.png", corpus, ["--by", "outlet"]),
            ("report-ptc-dev.png", dev_articles, []),
        ):
            corpus_name = name.removeprefix("report-").removesuffix(".png")  # the report's title
            results, report = work / corpus_name, work / f"{corpus_name}-report"
            _propscan("batch", str(source), "--out", str(results), *model_option)
            _propscan("report", str(results), "--out", str(report), *grouping)
            with chromium() as browser:
                context = browser.new_context(viewport=REPORT_VIEWPORT)  # type: ignore[arg-type]
                try:
                    page = context.new_page()
                    page.goto((report / "report.html").resolve().as_uri())
                    page.screenshot(path=str(out / name))
                finally:
                    context.close()
            shots.append(out / name)
    return shots


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
