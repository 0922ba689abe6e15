"""Regenerate the result-page screenshots in docs/ (desktop 1280 px, phone 390 px wide).

    python scripts/screenshots.py [--model DIR] [--article FILE] [--out docs]

Serves the example article's analysis from a throw-away database on a free loopback
port and photographs its page with headless Chromium.
"""

from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--article", type=Path, default=EXAMPLE, help="article text file")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="output directory")
    args = parser.parse_args(argv)
    try:
        text = args.article.read_text(encoding="utf-8")
        for path in take_screenshots(text, args.model, args.out):
            print(path)
    except (PropscanError, OSError, httpx.HTTPError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
