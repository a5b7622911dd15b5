"""The admin console in a real browser: login, dashboard charts, every section, the provider-key and
entity flows, the reveal store's unavailable state, and no planted secret in any page."""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

import entities.services
from audit import services as audit_services
from entities.models import ConnectedEntity
from entities.reveal_store import RedisRevealStore
from secrets_app.models import EnvironmentVariable, ProviderKey
from tests.e2e.conftest import screenshot
from tests.entities.test_reveal_store import dead_redis

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "e2e-root-password"  # noqa: S105 - a throwaway test login
PLANTED = ["zq-PLANTED-envvar-secret-5c1d", "sk-proj-PLANTEDopenai00112233445566", "sk-proj-PLANTEDrotated99887766"]


def seed(monkeypatch):
    """acme/production with a variable, a provider key, an entity and 30 days of audit rows."""
    from audit.services import audit_record
    from entities.services import entity_create
    from secrets_app.models import Environment, Project
    from secrets_app.services import env_var_create, provider_key_create

    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    env = Environment.objects.create(project=Project.objects.create(slug="acme", name="Acme"), slug="production")
    env_var_create(environment=env, name="SEARCH_API_TOKEN", value=PLANTED[0], kind="tool", actor=root)
    provider_key_create(environment=env, provider="openai", label="main", secret=PLANTED[1], actor=root)
    entity, secret = entity_create(environment=env, actor=root, slug="crm", display_name="CRM",
                                   base_url="https://crm.example.com")
    PLANTED.append(secret) if secret not in PLANTED else None
    now = timezone.now()
    for days_ago in range(0, 30, 2):
        when = now - dt.timedelta(days=days_ago, hours=1)
        monkeypatch.setattr(audit_services, "timezone", SimpleNamespace(now=lambda when=when: when))
        for i in range(1 + days_ago % 5):
            audit_record(action="secret.read", success=True, actor="system:runtime", key="SEARCH_API_TOKEN",
                         scope="acme/production")
            if i % 2:
                audit_record(action="secret.read", success=False, actor="system:runtime", key="MISSING_KEY",
                             scope="acme/production", reason="not_found")
        if days_ago % 6 == 0:
            audit_record(action="entity.auth.failed", success=False, reason="bad_signature",
                         subject_type="entity", subject_id=str(entity.pk))
    monkeypatch.undo()
    return env, entity


def login(page, next_path="/admin/"):
    page.goto(f"{page.base}/admin/login/?next={next_path}")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_path}")


def assert_no_planted(html: str, where: str) -> None:
    for value in PLANTED:
        assert value not in html, f"a planted secret is in {where}"


def test_dashboard_and_every_section_open_without_errors_or_secrets(page, monkeypatch):
    seed(monkeypatch)
    login(page)
    assert "Platos governance" in page.title()
    assert page.locator("#chart-reads rect").count() >= 15 and page.locator("#chart-auth rect").count() == 5
    assert page.locator("#chart-top-keys rect").count() == 2 and page.is_visible("#key-health")
    external = [r for r in page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
                if not r.startswith(page.base)]
    assert external == []  # no CDN, no external request
    screenshot(page, "dashboard")
    page.click("#chart-reads h3 a")
    page.wait_for_url("**/admin/audit/auditevent/?action=secret.read*")
    assert page.locator("#result_list tbody tr").count() > 0

    page.goto(f"{page.base}/admin/")
    sections = sorted({href for href in page.eval_on_selector_all(
        "#content-main a", "els => els.map(e => e.getAttribute('href'))")
        if href and re.match(r"^/admin/\w+/\w+/(add/)?$", href)})
    assert "/admin/secrets_app/environment/" in sections and "/admin/messages_app/toolcall/" in sections
    assert "/admin/secrets_app/providerkey/add/" in sections
    visited = []
    for href in sections:
        response = page.goto(page.base + href)
        assert response.status < 400, (href, response.status)
        assert_no_planted(page.content(), href)
        visited.append(href)
        first = page.locator("#result_list tbody tr th a").first
        if not href.endswith("add/") and first.count():
            change = first.get_attribute("href")
            response = page.goto(page.base + change)
            assert response.status < 400, (change, response.status)
            assert_no_planted(page.content(), change)
            visited.append(change)
    assert len(visited) > len(sections)
    page.goto(f"{page.base}/admin/platos/keycanary/")
    screenshot(page, "keys")
    page.goto(f"{page.base}/admin/audit/auditevent/")
    screenshot(page, "audit-log")
    width = page.evaluate("document.querySelector('#result_list').getBoundingClientRect().right")
    assert width <= 1280, width  # the audit list fits a 1,280 px window
    assert page.get_attribute("#result_list td.field-key_text .audit-cut", "title")


def test_provider_key_lifecycle_end_to_end(page, monkeypatch):
    env, _ = seed(monkeypatch)
    login(page, "/admin/secrets_app/providerkey/add/")
    page.select_option("#id_environment", str(env.pk))
    page.select_option("#id_provider", "openai")
    page.fill("#id_label", "backup")
    page.fill("#id_secret", "sk-ant-api03-WRONGproviderkey0011223344")
    page.click("input[name=_save]")
    assert "an Anthropic key" in page.inner_text(".errorlist") and "WRONGprovider" not in page.content()
    page.fill("#id_secret", "sk-proj-PLANTEDbackupkey44556677")
    PLANTED.append("sk-proj-PLANTEDbackupkey44556677")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/secrets_app/providerkey/")
    key = ProviderKey.objects.get(label="backup")
    page.goto(f"{page.base}/admin/secrets_app/providerkey/{key.pk}/change/")
    page.fill("#id_rotate_secret", PLANTED[2])
    page.click("#rotate-form button")
    page.wait_for_selector(".messagelist")
    assert EnvironmentVariable.objects.get(name=key.env_var_name).version == 2
    for button, status, default in (("#set-default-button", "active", True), ("#disable-button", "disabled", False),
                                    ("#enable-button", "active", False)):
        page.click(button)
        page.wait_for_selector(".messagelist")
        key.refresh_from_db()
        assert (key.status, key.is_default) == (status, default), button
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#revoke-button")
    page.wait_for_selector(".messagelist")
    assert ProviderKey.objects.get(pk=key.pk).status == "revoked"
    assert_no_planted(page.content(), "the provider key's page")


def test_entity_regenerate_disable_and_the_store_unavailable_state(page, monkeypatch):
    _, entity = seed(monkeypatch)
    login(page, f"/admin/entities/connectedentity/{entity.pk}/change/")
    page.select_option("#id_grace_seconds", "3600")
    page.click("#regenerate-button")
    page.wait_for_url("**/initial-secret/")
    assert page.is_visible("#reveal-button")
    screenshot(page, "initial-secret")
    working = entities.services.get_reveal_store
    monkeypatch.setattr(entities.services, "get_reveal_store", lambda: RedisRevealStore(connection=dead_redis))
    page.click("#reveal-button")
    page.wait_for_selector("#state-retry", state="visible")
    assert "Reveal store unavailable — try again shortly" in page.inner_text("#state-retry")
    screenshot(page, "initial-secret-store-unavailable")
    monkeypatch.setattr(entities.services, "get_reveal_store", working)
    page.click("#retry-link")
    page.wait_for_selector("#reveal-button")
    page.click("#reveal-button")
    page.wait_for_selector("#state-shown", state="visible")
    entity.refresh_from_db()
    assert page.text_content("#secret") == entity.service_secret and entity.previous_secret_valid_until
    page.click("text=Back to the entity")
    page.wait_for_url(f"**/{entity.pk}/change/")
    assert entity.service_secret not in page.content()
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#disable-button")
    page.wait_for_selector(".messagelist")
    assert ConnectedEntity.objects.get(pk=entity.pk).status == "disabled"
