import logging
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from entities.auth import NOT_AN_ENTITY
from entities.models import ConnectedEntity
from entities.services import entity_disable, entity_secret_regenerate
from secrets_app.services.service_accounts import service_account_create, service_account_disable
from secrets_app.tokens.services import token_create
from tests.entities.conftest import body, sign

pytestmark = pytest.mark.django_db

WHOAMI = "/agent/v1/entity/whoami"
HEARTBEAT = "/agent/v1/entity/heartbeat"
GENERIC = {"detail": "Entity authentication failed."}


@pytest.fixture
def entity(make_entity):
    return make_entity()


def bearer(entity, secret):
    return {"HTTP_X_PLATOS_ENTITY": str(entity.pk), "HTTP_AUTHORIZATION": f"Bearer {secret}"}


def signed(entity, secret, payload=b"", **kw):
    return {"HTTP_X_PLATOS_ENTITY": str(entity.pk), **sign(secret, payload, **kw)}


def assert_refused(response, reason):
    assert response.status_code == 401
    assert response.json() == GENERIC  # never says which part was wrong
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    row = AuditEvent.objects.filter(action="entity.auth.failed").latest("id")
    assert (row.success, row.reason) == (False, reason)
    return row


def test_bearer_passes(client, entity):
    ent, secret = entity
    r = client.get(WHOAMI, **bearer(ent, secret))
    assert r.status_code == 200
    assert r.json() == {"id": str(ent.pk), "slug": "crm", "display_name": "CRM", "scope": "acme/production",
                        "status": "active", "auth_method": "bearer", "used_previous_secret": False}
    assert not AuditEvent.objects.filter(action="entity.auth.failed").exists()


def test_correct_signature_passes_and_heartbeat_records_the_connection(client, entity):
    ent, secret = entity
    payload = body({"status": "ok"})
    r = client.post(HEARTBEAT, data=payload, content_type="application/json", **signed(ent, secret, payload))
    assert r.status_code == 200
    ent.refresh_from_db()
    assert ent.last_connected_at is not None
    assert r.json()["last_connected_at"].startswith(ent.last_connected_at.strftime("%Y-%m-%dT%H:%M"))
    r = client.get(WHOAMI, **signed(ent, secret))
    assert r.status_code == 200 and r.json()["auth_method"] == "signature"


def test_wrong_secret_bearer(client, entity):
    ent, secret = entity
    assert_refused(client.get(WHOAMI, **bearer(ent, "0" * 64)), "wrong_secret")


def test_wrong_secret_signature(client, entity):
    ent, _ = entity
    assert_refused(client.get(WHOAMI, **signed(ent, "0" * 64)), "bad_signature")


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_stale_timestamp(client, entity, offset):
    ent, secret = entity
    assert_refused(client.get(WHOAMI, **signed(ent, secret, timestamp=int(time.time()) + offset)),
                   "stale_timestamp")


def test_timestamp_within_skew_passes(client, entity):
    ent, secret = entity
    assert client.get(WHOAMI, **signed(ent, secret, timestamp=int(time.time()) - 290)).status_code == 200


def test_replayed_nonce(client, entity):
    ent, secret = entity
    payload = body({"n": 1})
    headers = signed(ent, secret, payload)
    assert client.post(HEARTBEAT, data=payload, content_type="application/json", **headers).status_code == 200
    r = client.post(HEARTBEAT, data=payload, content_type="application/json", **headers)
    assert_refused(r, "replayed_nonce")


def test_altered_body(client, entity):
    ent, secret = entity
    headers = signed(ent, secret, body({"amount": 1}))
    r = client.post(HEARTBEAT, data=body({"amount": 1000}), content_type="application/json", **headers)
    assert_refused(r, "bad_signature")


def test_a_forged_request_does_not_burn_the_real_nonce(client, entity):
    ent, secret = entity
    payload = body({"n": 2})
    good = signed(ent, secret, payload)
    forged = {**good, "HTTP_X_PLATOS_SIGNATURE": "f" * 64}
    assert_refused(client.post(HEARTBEAT, data=payload, content_type="application/json", **forged),
                   "bad_signature")
    assert client.post(HEARTBEAT, data=payload, content_type="application/json", **good).status_code == 200


def test_disabled_entity(client, world, entity):
    ent, secret = entity
    entity_disable(entity=ent, actor=world.admin)
    row = assert_refused(client.get(WHOAMI, **bearer(ent, secret)), "disabled")
    assert row.subject_id == str(ent.pk) and row.scope == "acme/production"
    assert_refused(client.get(WHOAMI, **signed(ent, secret)), "disabled")


def test_unknown_or_missing_entity(client, entity):
    ent, secret = entity
    assert_refused(client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {secret}"), "missing_entity_header")
    unknown = {"HTTP_X_PLATOS_ENTITY": "6f1c2c1e-0000-4000-8000-000000000000", "HTTP_AUTHORIZATION": "Bearer x"}
    assert assert_refused(client.get(WHOAMI, **unknown), "unknown_entity").subject_id == unknown[
        "HTTP_X_PLATOS_ENTITY"]


def test_swapped_headers_do_not_put_the_secret_into_the_audit_row(client, entity):
    ent, secret = entity
    r = client.get(WHOAMI, HTTP_X_PLATOS_ENTITY=secret, HTTP_AUTHORIZATION=f"Bearer {ent.pk}")
    row = assert_refused(r, "unknown_entity")
    assert secret not in str(AuditEvent.objects.filter(pk=row.pk).values().get())


@pytest.mark.parametrize("headers,reason", [
    ({"HTTP_X_PLATOS_TIMESTAMP": "soon"}, "malformed_timestamp"),
    ({"HTTP_X_PLATOS_NONCE": "short"}, "malformed_nonce"),
    ({"HTTP_X_PLATOS_SIGNATURE": "zz"}, "malformed_signature"),
])
def test_malformed_signature_headers(client, entity, headers, reason):
    ent, secret = entity
    assert_refused(client.get(WHOAMI, **{**signed(ent, secret), **headers}), reason)


def test_no_credentials_at_all_is_401_not_403(client):
    r = client.get(WHOAMI)
    assert r.status_code == 401


def test_a_logged_in_admin_session_is_not_an_entity(client, world):
    client.force_login(world.root)
    assert client.get(WHOAMI).status_code == 401


@pytest.mark.parametrize("who", ["service_account", "human"])
def test_a_valid_api_token_is_told_403_this_is_for_entities(client, world, entity, who):
    """An API token is an identity, not an entity credential: 403 JSON saying so (issue 11:
    a service account gets 403 on every non-runtime endpoint), no entity failure row."""
    if who == "service_account":
        _, _, token = service_account_create(project=world.acme, name="worker", environments=["production"],
                                             actor=world.admin)
    else:
        _, token = token_create(user=world.admin, name="t")
    ent, _ = entity
    for method, url in (("get", WHOAMI), ("post", HEARTBEAT)):
        for headers in ({}, {"HTTP_X_PLATOS_ENTITY": str(ent.pk)}):
            r = getattr(client, method)(url, HTTP_AUTHORIZATION=f"Bearer {token}", **headers)
            assert r.status_code == 403, (url, headers)
            assert r.json()["detail"] == NOT_AN_ENTITY and token not in r.content.decode()
    assert not AuditEvent.objects.filter(action__in=["entity.auth.failed", "token.auth.failed"]).exists()
    assert ConnectedEntity.objects.get(pk=ent.pk).last_connected_at is None  # no heartbeat recorded


def test_a_bad_or_disabled_api_token_on_an_entity_endpoint_stays_401(client, world):
    account, _, token = service_account_create(project=world.acme, name="worker", environments=["production"],
                                               actor=world.admin)
    service_account_disable(account=account, actor=world.admin)
    for presented in (token, "plt_" + "0" * 64):
        r = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {presented}")
        assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    # Refused like any bad token: audited (and counted against the client address).
    assert AuditEvent.objects.filter(action="token.auth.failed").count() == 2


def test_regenerate_without_grace_invalidates_at_once(client, world, entity):
    ent, old = entity
    _, new = entity_secret_regenerate(entity=ent, actor=world.admin)
    assert_refused(client.get(WHOAMI, **bearer(ent, old)), "wrong_secret")
    assert client.get(WHOAMI, **bearer(ent, new)).status_code == 200


def test_grace_window_honoured_then_closed(client, world, entity):
    ent, old = entity
    _, new = entity_secret_regenerate(entity=ent, actor=world.admin, grace_seconds=600)
    r = client.get(WHOAMI, **bearer(ent, old))
    assert r.status_code == 200 and r.json()["used_previous_secret"] is True
    assert client.get(WHOAMI, **signed(ent, old)).status_code == 200
    assert client.get(WHOAMI, **bearer(ent, new)).json()["used_previous_secret"] is False
    # The window closes: move its end into the past.
    ConnectedEntity.objects.filter(pk=ent.pk).update(
        previous_secret_valid_until=timezone.now() - timedelta(seconds=1))
    assert_refused(client.get(WHOAMI, **bearer(ent, old)), "wrong_secret")
    assert_refused(client.get(WHOAMI, **signed(ent, old)), "bad_signature")
    assert client.get(WHOAMI, **bearer(ent, new)).status_code == 200


def test_undecryptable_secret_is_refused_and_audited(client, world, entity):
    from django.db import connection

    ent, secret = entity
    foreign = ConnectedEntity._meta.get_field("previous_service_secret").get_prep_value(secret)
    with connection.cursor() as cur:
        cur.execute("UPDATE entities_connectedentity SET service_secret = %s WHERE slug = %s", [foreign, "crm"])
    assert_refused(client.get(WHOAMI, **bearer(ent, secret)), "decryption_failed")


def test_no_secret_in_captured_logs(client, world, entity, caplog):
    ent, secret = entity
    caplog.set_level(logging.DEBUG)
    client.get(WHOAMI, **bearer(ent, secret))
    client.get(WHOAMI, **bearer(ent, secret[::-1]))
    client.get(WHOAMI, **signed(ent, secret, timestamp=1))
    _, new = entity_secret_regenerate(entity=ent, actor=world.admin, grace_seconds=60)
    client.get(WHOAMI, **bearer(ent, new))
    assert caplog.records, "expected the refusals to be logged"
    text = "\n".join(r.getMessage() for r in caplog.records)
    for value in (secret, new, secret[::-1]):
        assert value not in text
