"""Regenerate the screenshots in docs/: the result page, a tooltip, the history (desktop
1280 px wide, and the page on a 390 px phone), and a corpus report's top and its ranked
article list (1200 px).

    python scripts/screenshots.py [--model DIR] [--article FILE] [--out docs] [--no-reports]

Serves analyses from a throw-away database on a free loopback port and photographs them
with headless Chromium: the example article (a news article full of quotations), the
sample op-ed shipped with propscan and two PTC dev articles, so that the history lists
several. Then runs ``propscan batch`` and ``propscan report`` on the synthetic
multi-outlet corpus of ``benchmarks/make_synthetic_corpus.py`` and photographs the report.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from propscan.errors import PropscanError
from propscan.examples import sample_text
from propscan.ptc.splits import load_split
from propscan.service.app import create_app

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the browser and server helpers of the tests

from support.browser import chromium, screenshot_page  # noqa: E402
from support.server import running_server  # noqa: E402

EXAMPLE = ROOT.parent / "shared" / "examples" / "abu-kamal-article.txt"
#: A highlight to point at for the tooltip: one inside a quotation, else any.
TOOLTIP_TARGETS = ("mark.seg.quote-start.multi", "mark.seg.quote-start", "mark.seg")
REPORT_HEIGHT = 1100


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--article", type=Path, default=EXAMPLE, help="article text file")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="output directory")
    parser.add_argument(
        "--reports", action=argparse.BooleanOptionalAction, default=True, help="report pictures"
    )
    args = parser.parse_args(argv)
    try:
        text = args.article.read_text(encoding="utf-8")
        shots = take_screenshots(text, args.model, args.out)
        if args.reports:
            shots += take_report_screenshots(args.model, args.out)
        for path in shots:
            print(path)
    except (PropscanError, OSError, httpx.HTTPError, subprocess.CalledProcessError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
