"""The browser tests' page: one Chromium page per test module on an app of the module's own (fresh_app_url).

A module may set VIEWPORT = (width, height) (default 1400x1000) and CONSOLE_ERRORS = False (console errors
then stay out of page.errors; uncaught page errors are always collected)."""
import pytest

from tests.browser.pages import open_page


@pytest.fixture(scope="module")
def page(request, fresh_app_url):
    options = {"viewport": getattr(request.module, "VIEWPORT", (1400, 1000)),
               "console_errors": getattr(request.module, "CONSOLE_ERRORS", True)}
    with open_page(fresh_app_url, **options) as page:
        yield page
