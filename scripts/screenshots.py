"""Regenerate the screenshots in docs/: result pages (desktop 1280 px, phone 390 px wide)
and corpus reports (1200 px wide).

    python scripts/screenshots.py [--model DIR] [--article FILE] [--out docs] [--no-reports]

Serves the example article's analysis from a throw-away database on a free loopback
port and photographs its page with headless Chromium. Then runs ``propscan batch`` and
``propscan report`` on two corpora made from PTC (the synthetic multi-outlet corpus of
``benchmarks/make_synthetic_corpus.py``, grouped by outlet, and the dev articles) and
photographs each report.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from propscan.errors import PropscanError
from propscan.service.app import create_app

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the browser and server helpers of the tests

from support.browser import chromium, screenshot_result_page  # noqa: E402
from support.server import running_server  # noqa: E402

EXAMPLE = ROOT.parent / "shared" / "examples" / "abu-kamal-article.txt"
SHOTS = (("service-desktop.png", False), ("service-phone.png", True))
REPORT_VIEWPORT = {"width": 1200, "height": 2400}


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
