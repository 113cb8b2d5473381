"""What the browser tests share: Debian's Chromium, a page opened on a running app, and the waits and checks
every file uses. tests/browser/conftest.py's `page` fixture opens one page per test module with open_page."""
import contextlib
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def open_page(url, viewport=(1400, 1000), console_errors=True):
    """A headless Chromium page on the app at `url`, once its tabs show. `page.errors` collects the page's
    uncaught errors, and its console errors too when `console_errors`."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        page.errors = []
        if console_errors:
            page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(url, wait_until="load")  # not networkidle: gr.State keeps a heartbeat stream open
        page.get_by_role("tab").first.wait_for(timeout=60000)
        try:
            yield page
        finally:
            browser.close()


def served_images(page, n, timeout=60000):
    """Wait until at least n served images (outputs, not icons) are visible."""
    page.wait_for_function("() => [...document.querySelectorAll(\"img[src*='/file=']\")]"
                           f".filter(i => i.offsetParent).length >= {n}", timeout=timeout)


def shot(page, name, settle_ms=500):
    """Screenshot to artifacts/screenshots/<name>.png once the page has settled."""
    page.wait_for_timeout(settle_ms)
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"{name}.png"), full_page=True)


def assert_clean(page):
    """No error toast on the page and no console error so far."""
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
    assert not page.errors, page.errors
