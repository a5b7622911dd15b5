"""The one-time reveal in a real browser (Playwright driving Debian's Chromium).

No skip: a missing Chromium or Playwright fails this test with the install
command. CI installs Chromium (.ci/run) and Playwright (requirements-dev.txt);
a browser test that silently skips would let the reveal page regress unseen.
"""

import json
import os
import shutil
import urllib.request

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from audit.models import AuditEvent
from entities.models import ConnectedEntity
from secrets_app.models import Environment, Project

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test
    # makes around it are synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail("Chromium is missing: apt-get install -y chromium (the e2e test never skips)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install -r requirements-dev.txt")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()
            # Playwright's sync API runs the test body in its own context, where Django
            # opened its own database connection: close it here, or the PostgreSQL test
            # database cannot be dropped at the end of the run.
            connections.close_all()


def whoami(base_url, entity_id, secret):
    req = urllib.request.Request(  # noqa: S310 (http to the local live server)
        f"{base_url}/agent/v1/entity/whoami",
        headers={"X-Platos-Entity": str(entity_id), "Authorization": f"Bearer {secret}"})
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
        return json.load(r)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_admin_creates_an_entity_and_sees_its_secret_once(live_server, settings, browser_page):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain http to the live server
    env = Environment.objects.create(project=Project.objects.create(slug="acme", name="Acme"), slug="production")
    get_user_model().objects.create_superuser("root", "", "e2e-root-password")
    page = browser_page

    page.goto(f"{live_server.url}/admin/login/?next=/admin/entities/connectedentity/add/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "e2e-root-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/entities/connectedentity/add/")
    page.select_option("#id_environment", str(env.pk))
    page.fill("#id_slug", "crm")
    page.fill("#id_display_name", "CRM")
    page.fill("#id_base_url", "https://crm.example.com")
    page.click("input[name=_save]")

    page.wait_for_url("**/initial-secret/")
    entity = ConnectedEntity.objects.get(slug="crm")
    assert page.is_visible("#reveal-button") and page.text_content("#secret") == ""
    page.click("#reveal-button")
    page.wait_for_selector("#state-shown", state="visible")
    secret = page.text_content("#secret")
    assert len(secret) == 64
    assert whoami(live_server.url, entity.pk, secret)["slug"] == "crm"  # the shown secret authenticates

    # Away and back (back/forward cache): the secret is not on the page any more.
    page.click("text=Back to the entity")
    page.wait_for_url(f"**/{entity.pk}/change/")
    page.go_back()
    page.wait_for_selector("#reveal")
    assert secret not in page.content()

    page.reload()
    page.wait_for_selector("#state-gone", state="visible")
    assert "already shown or has expired" in page.inner_text("#state-gone")
    assert secret not in page.content()

    page.go_back()
    page.wait_for_load_state()
    assert secret not in page.content()
    assert AuditEvent.objects.filter(action="entity.secret.reveal", success=True).count() == 1
    assert AuditEvent.objects.filter(action="entity.secret.reveal", success=False).exists()

