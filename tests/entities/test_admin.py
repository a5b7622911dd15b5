import logging

import pytest
from django.contrib.auth import get_user_model

import entities.services
from audit.models import AuditEvent
from entities.admin import SESSION_KEY
from entities.models import ConnectedEntity
from entities.reveal_store import RedisRevealStore
from tests.entities.test_reveal_store import dead_redis

pytestmark = pytest.mark.django_db

ADD = "/admin/entities/connectedentity/add/"
CHANGELIST = "/admin/entities/connectedentity/"


def page(entity_id):
    return f"/admin/entities/connectedentity/{entity_id}/initial-secret/"


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.root)
    return client


def create(client, world, slug="crm"):
    r = client.post(ADD, {"environment": world.env.pk, "slug": slug, "display_name": "CRM",
                          "base_url": "https://crm.example.com", "_save": "Save"})
    entity = ConnectedEntity.objects.get(slug=slug)
    assert r.status_code == 302 and r.url == page(entity.pk)
    return entity


def reveal(client, entity):
    return client.post(page(entity.pk), HTTP_ACCEPT="application/json")


def failed_reveals(entity):
    return AuditEvent.objects.filter(action="entity.secret.reveal", success=False, subject_id=str(entity.pk))


def test_create_redirects_to_the_page_which_reveals_once(admin_client, world, caplog):
    caplog.set_level(logging.DEBUG)
    entity = create(admin_client, world)
    assert AuditEvent.objects.filter(action="entity.create", actor="root").count() == 1
    before = admin_client.get(page(entity.pk))
    assert before.status_code == 200 and 'id="reveal-button"' in before.content.decode()
    assert 'data-state="ready"' in before.content.decode()
    assert "no-store" in before.headers["Cache-Control"]

    r = reveal(admin_client, entity)
    assert r.status_code == 200 and "no-store" in r.headers["Cache-Control"]
    secret = r.json()["secret"]
    assert r.json()["state"] == "shown" and secret == ConnectedEntity.objects.get().service_secret
    assert secret not in before.content.decode()
    ok = AuditEvent.objects.get(action="entity.secret.reveal", success=True)
    assert (ok.actor, ok.key, ok.scope, ok.subject_type, ok.subject_id, ok.extra) == (
        "root", "", "acme/production", "entity", str(entity.pk), {"slug": "crm"})

    again = reveal(admin_client, entity)
    assert again.json() == {"state": "gone", "secret": None}
    refresh = admin_client.get(page(entity.pk))
    html = refresh.content.decode()
    assert "already shown or has expired" in html and secret not in html and 'data-state="gone"' in html
    assert "no-store" in refresh.headers["Cache-Control"]
    assert failed_reveals(entity).count() == 2
    assert set(failed_reveals(entity).values_list("reason", flat=True)) == {"already_shown_or_expired"}

    for url in (CHANGELIST, f"{CHANGELIST}{entity.pk}/change/", "/admin/audit/auditevent/", "/admin/"):
        html = admin_client.get(url).content.decode()
        assert secret not in html
    assert entity.secret_prefix in admin_client.get(CHANGELIST).content.decode()
    assert secret not in "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in str(list(AuditEvent.objects.values()))


def test_the_page_works_without_javascript(admin_client, world):
    entity = create(admin_client, world)
    r = admin_client.post(page(entity.pk))
    html = r.content.decode()
    secret = ConnectedEntity.objects.get().service_secret
    assert f'<code id="secret">{secret}</code>' in html and "no-store" in r.headers["Cache-Control"]
    assert secret not in admin_client.post(page(entity.pk)).content.decode()


def test_another_user_gets_already_shown_and_is_audited(admin_client, client_factory, world):
    entity = create(admin_client, world)
    other = client_factory(get_user_model().objects.create_superuser("root2", "", "pw"))
    html = other.get(page(entity.pk)).content.decode()
    assert "already shown or has expired" in html
    assert other.post(page(entity.pk), HTTP_ACCEPT="application/json").json()["state"] == "gone"
    assert set(failed_reveals(entity).values_list("actor", flat=True)) == {"root2"}
    # The rightful admin still can reveal: the other user had no token to present.
    assert reveal(admin_client, entity).json()["state"] == "shown"


def test_non_staff_cannot_open_the_page(client_factory, admin_client, world):
    entity = create(admin_client, world)
    r = client_factory(world.admin).get(page(entity.pk))  # ada: project admin, not staff
    assert r.status_code == 302 and "/admin/login/" in r.url


def test_regenerate_action_redirects_to_a_fresh_reveal(admin_client, world):
    entity = create(admin_client, world)
    first = reveal(admin_client, entity).json()["secret"]
    r = admin_client.post(CHANGELIST, {"action": "regenerate_secret", "_selected_action": [str(entity.pk)]})
    assert r.status_code == 302 and r.url == page(entity.pk)
    second = reveal(admin_client, entity).json()["secret"]
    assert second and second != first and ConnectedEntity.objects.get().service_secret == second
    assert AuditEvent.objects.filter(action="entity.secret.regenerate", actor="root").count() == 1


def test_disable_action(admin_client, world):
    entity = create(admin_client, world)
    admin_client.post(CHANGELIST, {"action": "disable", "_selected_action": [str(entity.pk)]})
    assert ConnectedEntity.objects.get().status == "disabled"


def test_filtering_on_the_secret_is_refused(admin_client, world):
    create(admin_client, world)
    assert admin_client.get(CHANGELIST + "?service_secret__startswith=a").status_code == 400


def test_reveal_store_down_create_still_succeeds_and_the_page_says_so(admin_client, world, monkeypatch):
    monkeypatch.setattr(entities.services, "get_reveal_store", lambda: RedisRevealStore(connection=dead_redis))
    entity = create(admin_client, world)
    assert ConnectedEntity.objects.filter(pk=entity.pk, status="active").exists()
    assert AuditEvent.objects.filter(action="entity.create", success=True).count() == 1
    html = admin_client.get(page(entity.pk)).content.decode()
    assert "reveal store is unavailable" in html and "regenerate" in html
    assert reveal(admin_client, entity).json() == {"state": "unavailable", "secret": None}
    assert set(failed_reveals(entity).values_list("reason", flat=True)) == {"reveal_store_unavailable"}


def test_the_session_holds_a_token_and_no_secret(admin_client, world):
    entity = create(admin_client, world)
    stored = admin_client.session[SESSION_KEY]
    secret = ConnectedEntity.objects.get().service_secret
    assert list(stored) == [str(entity.pk)] and secret not in str(stored)
