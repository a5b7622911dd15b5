"""One Chromium per module for the admin browser tests (Playwright driving Debian's Chromium)."""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
# `make screenshots` sets this to docs/screenshots; otherwise the tests write none.
SCREENSHOTS = os.environ.get("PLATOS_SCREENSHOTS", "")


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium for the whole module. Never skips: a missing browser fails with the fix."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail("Chromium is missing: apt-get install -y chromium (the e2e tests never skip)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install -r requirements-dev.txt")
    # Playwright's sync API runs an event loop in this thread for the whole module; the
    # ORM calls the tests make around it are synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                yield browser
            finally:
                browser.close()
                connections.close_all()  # or the PostgreSQL test database cannot be dropped
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium, live_server, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain http to the live server
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.base = live_server.url
    try:
        yield tab
    finally:
        context.close()


def screenshot(page, name: str) -> None:
    """Save ``docs/screenshots/<name>.png`` (full page) when run by `make screenshots`."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
