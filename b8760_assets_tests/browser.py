"""Debian's headless Chromium through Playwright, as the UI test and the UI benchmark open the
Dagster UI: Playwright's own browser downloads are never used (`make chromium` installs it)."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, ViewportSize, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT: ViewportSize = {"width": 1600, "height": 1000}


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """The browser, launched; closed on the way out."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            yield launched
        finally:
            launched.close()


@contextlib.contextmanager
def ui_page(browser: Browser, base_url: str, timeout_ms: float = 30_000) -> Iterator[Page]:
    """A page of a fresh context (no cache, no cookies: a first visit) on the webserver,
    Dagster's first-visit newsletter dialog dismissed whenever it shows."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
    context.set_default_timeout(timeout_ms)
    opened = context.new_page()
    opened.add_locator_handler(opened.get_by_role("button", name="Skip"), lambda skip: skip.click())
    try:
        yield opened
    finally:
        context.close()


def visible(page: Page, text: str) -> Locator:
    """The visible element of exactly this text (Dagster's truncating labels keep a hidden
    copy of their text, to measure it)."""
    return page.get_by_text(text, exact=True).filter(visible=True).first
