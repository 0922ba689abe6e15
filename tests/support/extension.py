"""Chromium with propscan's browser extension loaded, driven by Playwright (tests and
screenshots).

The extension is built from ``extension/`` (``npm run build``; ``npm ci`` must have run,
as ``scripts/test.sh`` does). Chromium runs headless with the built folder loaded; a click
on the extension's toolbar button is made through the DevTools protocol
(``Extensions.triggerAction``), so the extension gets the page the way a reader gives it,
by clicking (activeTab), and has no other access to it. The popup is then opened as a
page of its own for that tab (``popup.html?tab=ID``) to read and use it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propscan.errors import PropscanError
from support.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP_VIEWPORT, browser_missing

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, CDPSession, Page

EXTENSION_SOURCE = Path(__file__).resolve().parents[2] / "extension"
BUILT = EXTENSION_SOURCE / "dist" / "chromium"


def build_extension() -> Path:
    """Build the extension from its sources; the unpacked Chromium folder."""
    if not (EXTENSION_SOURCE / "node_modules").is_dir():
        raise PropscanError(
            f"the extension's packages are not installed; run 'npm ci' in {EXTENSION_SOURCE} "
            "(bash scripts/test.sh does)"
        )
    npm = shutil.which("npm")
    if npm is None:
        raise PropscanError("npm is not installed; bash scripts/test.sh installs Node.js and npm")
    result = subprocess.run(
        [npm, "run", "build"], cwd=EXTENSION_SOURCE, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise PropscanError(f"npm run build failed:\n{result.stdout}{result.stderr}")
    return BUILT


@dataclass
class ExtensionBrowser:
    """A Chromium profile with the extension: its id and a browser-level DevTools session."""

    context: BrowserContext
    extension_id: str
    devtools: CDPSession

    def url(self, page: str) -> str:
        return f"chrome-extension://{self.extension_id}/{page}"

    def click_button(self, page: Page) -> None:
        """Click the extension's toolbar button while ``page`` is the active tab."""
        page.bring_to_front()
        tabs = self.devtools.send("Target.getTargets", {"filter": [{"type": "tab"}]})
        active = [
            tab
            for tab in tabs["targetInfos"]
            if tab["url"] == page.url and tab.get("embedderData", {}).get("tabActive")
        ]
        if len(active) != 1:
            raise PropscanError(f"no single active tab shows {page.url}: {tabs}")
        self.devtools.send(
            "Extensions.triggerAction", {"id": self.extension_id, "targetId": active[0]["targetId"]}
        )

    def evaluate(self, script: str, argument: Any = None) -> Any:
        """Run ``script`` (a function) in a page of the extension, with its ``chrome`` APIs."""
        helper = self.context.new_page()
        try:
            helper.goto(self.url("options.html"))
            return helper.evaluate(script, argument)
        finally:
            helper.close()

    def tab_id(self, page: Page) -> int:
        """The extension's id for the tab of ``page`` (it sees the tab's URL once clicked)."""
        found = self.evaluate(
            "async (url) => (await chrome.tabs.query({url})).map(tab => tab.id)",
            page.url,
        )
        if len(found) != 1:
            raise PropscanError(f"the extension cannot see one tab at {page.url}: {found}")
        return int(found[0])

    def open_popup(self, page: Page) -> Page:
        """Click the button for ``page`` and open the popup for its tab as a page."""
        self.click_button(page)
        popup = self.context.new_page()
        popup.goto(self.url(f"popup.html?tab={self.tab_id(page)}"))
        return popup

    def configure(self, service_url: str, token: str, timeout_seconds: int = 60) -> Page:
        """Fill in and save the options page, as a reader does; the page stays open."""
        options = self.context.new_page()
        options.goto(self.url("options.html"))
        options.get_by_label("Service address").fill(service_url)
        options.get_by_label("Token").fill(token)
        options.get_by_label("Time limit (seconds)").fill(str(timeout_seconds))
        options.get_by_role("button", name="Save", exact=True).click()
        return options

    def storage(self, area: str) -> dict[str, Any]:
        """What the extension keeps in ``chrome.storage`` (area ``local`` or ``session``)."""
        stored: dict[str, Any] = self.evaluate("(area) => chrome.storage[area].get(null)", area)
        return stored


@contextmanager
def chromium_with_extension(extension: Path) -> Iterator[ExtensionBrowser]:
    """Debian's Chromium, headless, with the unpacked ``extension`` loaded in a fresh profile."""
    problem = browser_missing()
    if problem is not None:
        raise PropscanError(f"{problem}; run 'bash scripts/test.sh' to install what it needs")
    from playwright.sync_api import sync_playwright

    executable = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or CHROMIUM)
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(executable),
            headless=True,
            viewport=DESKTOP_VIEWPORT,  # type: ignore[arg-type]
            args=[
                *CHROMIUM_ARGS,
                "--enable-unsafe-extension-debugging",
                f"--disable-extensions-except={extension}",
                f"--load-extension={extension}",
            ],
        )
        try:
            assert context.browser is not None
            devtools = context.browser.new_browser_cdp_session()
            loaded = devtools.send("Extensions.getExtensions")["extensions"]
            ours = [item for item in loaded if Path(item["path"]) == extension]
            if len(ours) != 1:
                raise PropscanError(f"Chromium did not load the extension from {extension}")
            context.set_default_timeout(30_000)
            yield ExtensionBrowser(context, ours[0]["id"], devtools)
        finally:
            context.close()
