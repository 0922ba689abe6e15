"""Headless Chromium for the service pages: browser tests and documentation screenshots.

Needs the ``playwright`` package and Debian's ``chromium`` (``bash scripts/test.sh``
installs both); Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from propscan.errors import PropscanError

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")

#: Offline-friendly flags: no sandbox (containers), no GPU, and no background traffic.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

DESKTOP_VIEWPORT = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 390, "height": 844}


def browser_missing() -> str | None:
    """Why the browser cannot run here, or ``None`` when Chromium and Playwright are present."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the 'playwright' Python package is not installed"
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        return f"Chromium is not installed ({CHROMIUM} is missing)"
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright's sync API."""
    problem = browser_missing()
    if problem is not None:
        raise PropscanError(f"{problem}; run 'bash scripts/test.sh' to install what it needs")
    from playwright.sync_api import sync_playwright

    executable = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or CHROMIUM)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


def screenshot_page(
    browser: Browser,
    page_url: str,
    path: Path,
    *,
    phone: bool = False,
    height: int | None = None,
    element: str | None = None,
    hover: str | None = None,
    max_height: int = 900,
) -> Path:
    """A PNG of a page: its first screen, or only ``element`` (a CSS selector), cut at
    ``max_height`` pixels.

    ``hover`` names an element to point at first (a highlight, whose tooltip then shows);
    ``height`` changes the desktop window's height. A phone has no hover.
    """
    viewport = dict(PHONE_VIEWPORT if phone else DESKTOP_VIEWPORT)
    if height is not None:
        viewport["height"] = height
    context = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
    )
    try:
        page = context.new_page()
        page.goto(page_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        if hover is not None:
            target = page.locator(hover).first
            target.scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, 120)")  # clear of the sticky controls
            target.hover()
        box = page.locator(element).first.bounding_box() if element is not None else None
        if box is not None:
            clip = {**box, "height": min(box["height"], max_height)}
            page.screenshot(path=str(path), clip=clip, full_page=True)  # type: ignore[arg-type]
        else:
            page.screenshot(path=str(path))
    finally:
        context.close()
    return path
