"""Signatures v2 (method, path with query string and body hash signed), v1 deprecation,
and the durable replay guard (a nonce survives the cache being flushed)."""

import datetime as dt
import hashlib
import hmac
import secrets
import time

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.utils import timezone

from audit.models import AuditEvent
from entities.models import SeenNonce
from entities.replay import nonce_record
from tests.entities.conftest import sign

pytestmark = pytest.mark.django_db

WHOAMI = "/agent/v1/entity/whoami"
HEARTBEAT = "/agent/v1/entity/heartbeat"


def sign_v2(entity, secret: str, method: str, path: str, body: bytes = b"") -> dict:
    ts, nonce = str(int(time.time())), secrets.token_urlsafe(16)
    message = f"{ts}.{nonce}.{method}.{path}.{hashlib.sha256(body).hexdigest()}"
    return {"HTTP_X_PLATOS_ENTITY": str(entity.pk), "HTTP_X_PLATOS_TIMESTAMP": ts, "HTTP_X_PLATOS_NONCE": nonce,
            "HTTP_X_PLATOS_SIGNATURE_VERSION": "2",
            "HTTP_X_PLATOS_SIGNATURE": hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()}


def last_failure() -> str:
    return AuditEvent.objects.filter(action="entity.auth.failed").latest("id").reason


def test_a_v2_signature_is_good_for_its_method_and_url_only(client, make_entity):
    entity, secret = make_entity()
    assert client.get(WHOAMI, **sign_v2(entity, secret, "GET", WHOAMI)).status_code == 200
    moved = sign_v2(entity, secret, "GET", WHOAMI)
    assert client.post(HEARTBEAT, b"", content_type="application/json", **moved).status_code == 401
    assert last_failure() == "bad_signature"
    assert client.get(WHOAMI + "?injected=1", **sign_v2(entity, secret, "GET", WHOAMI)).status_code == 401
    assert client.get(WHOAMI + "?a=1", **sign_v2(entity, secret, "GET", WHOAMI + "?a=1")).status_code == 200
    assert client.post(HEARTBEAT, b"", content_type="application/json",
                       **sign_v2(entity, secret, "POST", HEARTBEAT)).status_code == 200
    payload = b'{"a": 1}'
    tampered = sign_v2(entity, secret, "POST", HEARTBEAT, payload)
    assert client.post(HEARTBEAT, b'{"a": 2}', content_type="application/json", **tampered).status_code == 401
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ENTITY_AUTH_V1_ACCEPTED).exists()


def test_v1_is_accepted_and_marked_unless_the_minimum_is_2(client, make_entity, settings):
    entity, secret = make_entity()
    headers = {"HTTP_X_PLATOS_ENTITY": str(entity.pk), **sign(secret)}
    assert client.get(WHOAMI, **headers).status_code == 200
    row = AuditEvent.objects.get(action=AuditEvent.Action.ENTITY_AUTH_V1_ACCEPTED)
    assert (row.subject_id, row.extra["signature_version"], row.actor) == (str(entity.pk), 1, "entity:crm")
    settings.PLATOS_ENTITY_SIGNATURE_MIN_VERSION = 2
    headers = {"HTTP_X_PLATOS_ENTITY": str(entity.pk), **sign(secret)}
    assert client.get(WHOAMI, **headers).status_code == 401 and last_failure() == "signature_version_too_old"
    assert client.get(WHOAMI, **sign_v2(entity, secret, "GET", WHOAMI)).status_code == 200
    bad = {**sign_v2(entity, secret, "GET", WHOAMI), "HTTP_X_PLATOS_SIGNATURE_VERSION": "3"}
    assert client.get(WHOAMI, **bad).status_code == 401 and last_failure() == "unsupported_signature_version"


def test_a_replay_after_the_cache_is_cleared_is_refused(client, make_entity):
    entity, secret = make_entity()
    headers = sign_v2(entity, secret, "GET", WHOAMI)
    assert client.get(WHOAMI, **headers).status_code == 200
    caches["nonces"].clear()
    assert client.get(WHOAMI, **headers).status_code == 401 and last_failure() == "replayed_nonce"


@pytest.mark.redis
def test_a_replay_after_flushdb_is_refused(client, make_entity):
    entity, secret = make_entity()
    headers = sign_v2(entity, secret, "GET", WHOAMI)
    assert client.get(WHOAMI, **headers).status_code == 200
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # this run's own Redis db (REDIS_URL)
    assert client.get(WHOAMI, **headers).status_code == 401 and last_failure() == "replayed_nonce"


def test_rows_past_the_window_are_reused_and_purged(monkeypatch):
    import entities.replay as replay

    assert nonce_record(entity_id="e1", nonce="n" * 16, ttl=600) is True
    assert nonce_record(entity_id="e1", nonce="n" * 16, ttl=600) is False
    assert nonce_record(entity_id="e2", nonce="n" * 16, ttl=600) is True
    SeenNonce.objects.filter(entity_ref="e1").update(seen_at=timezone.now() - dt.timedelta(seconds=601))
    assert nonce_record(entity_id="e1", nonce="n" * 16, ttl=600) is True  # its request is long stale
    SeenNonce.objects.update(seen_at=timezone.now() - dt.timedelta(seconds=601))
    monkeypatch.setattr(replay, "_last_purge", [-float("inf")])
    assert nonce_record(entity_id="e3", nonce="m" * 16, ttl=600) is True
    assert list(SeenNonce.objects.values_list("entity_ref", flat=True)) == ["e3"]
