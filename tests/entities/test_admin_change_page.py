"""The entity change page's Regenerate (with a grace window) and Disable, and the retry state
of the initial-secret page when the reveal store is down for the take."""

import pytest

import entities.services
from audit.models import AuditEvent
from entities.admin import SESSION_KEY
from entities.models import ConnectedEntity
from entities.reveal_store import RedisRevealStore
from tests.entities.test_admin import create, failed_reveals, page, reveal
from tests.entities.test_reveal_store import dead_redis

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.root)
    return client


def change(entity):
    return f"/admin/entities/connectedentity/{entity.pk}/change/"


def test_change_page_regenerates_with_the_chosen_grace_window(admin_client, world):
    entity = create(admin_client, world)
    first = reveal(admin_client, entity).json()["secret"]
    html = admin_client.get(change(entity)).content.decode()
    assert 'id="regenerate-button"' in html and 'id="disable-button"' in html and first not in html
    assert admin_client.get(f"{change(entity)[:-7]}regenerate/").status_code == 404  # POST only
    r = admin_client.post(f"/admin/entities/connectedentity/{entity.pk}/regenerate/", {"grace_seconds": "3600"})
    assert r.status_code == 302 and r.url == page(entity.pk)
    second = reveal(admin_client, entity).json()["secret"]
    entity.refresh_from_db()
    assert second and second != first and entity.service_secret == second
    assert entity.previous_service_secret == first and entity.previous_secret_valid_until is not None
    row = AuditEvent.objects.get(action="entity.secret.regenerate")
    assert row.extra["grace_seconds"] == 3600 and row.actor == "root"
    r = admin_client.post(f"/admin/entities/connectedentity/{entity.pk}/regenerate/", {"grace_seconds": "99999"},
                          follow=True)
    assert [str(m) for m in r.context["messages"]] == ["must be an integer from 0 to 86400"], r.context["messages"]


def test_change_page_disables(admin_client, world):
    entity = create(admin_client, world)
    r = admin_client.post(f"/admin/entities/connectedentity/{entity.pk}/disable/", follow=True)
    assert r.status_code == 200 and "is disabled" in r.content.decode()
    assert ConnectedEntity.objects.get().status == "disabled"
    assert AuditEvent.objects.filter(action="entity.disable", actor="root").count() == 1
    html = admin_client.get(change(entity)).content.decode()
    assert 'id="regenerate-button"' not in html and "This entity is disabled" in html


def test_store_down_for_the_take_keeps_the_token_and_a_later_take_succeeds(admin_client, world, monkeypatch):
    entity = create(admin_client, world)  # parked in the working store
    token = admin_client.session[SESSION_KEY][str(entity.pk)]
    working = entities.services.get_reveal_store
    monkeypatch.setattr(entities.services, "get_reveal_store", lambda: RedisRevealStore(connection=dead_redis))
    assert reveal(admin_client, entity).json() == {"state": "retry", "secret": None}
    assert admin_client.session[SESSION_KEY][str(entity.pk)] == token  # kept for the next try
    html = admin_client.post(page(entity.pk)).content.decode()
    assert 'data-state="retry"' in html and "Reveal store unavailable — try again shortly" in html
    assert set(failed_reveals(entity).values_list("reason", flat=True)) == {"reveal_store_unavailable"}
    monkeypatch.setattr(entities.services, "get_reveal_store", working)
    assert 'data-state="ready"' in admin_client.get(page(entity.pk)).content.decode()
    taken = reveal(admin_client, entity).json()
    assert taken["state"] == "shown" and taken["secret"] == ConnectedEntity.objects.get().service_secret
    assert reveal(admin_client, entity).json()["state"] == "gone"
