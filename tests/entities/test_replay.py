import secrets

import django_redis
import pytest
import redis
from django.conf import settings

from entities.replay import KEY_PREFIX, ReplayGuardUnavailable, nonce_claim
from tests.entities.test_reveal_store import dead_redis


def test_in_process_nonce_is_accepted_once(settings):
    settings.REDIS_URL = ""
    nonce = secrets.token_urlsafe(16)
    assert nonce_claim(entity_id="e1", nonce=nonce, ttl=600) is True
    assert nonce_claim(entity_id="e1", nonce=nonce, ttl=600) is False
    assert nonce_claim(entity_id="e2", nonce=nonce, ttl=600) is True  # per entity


@pytest.mark.redis
def test_redis_nonce_is_set_nx_with_expiry():
    nonce = secrets.token_urlsafe(16)
    assert nonce_claim(entity_id="e1", nonce=nonce, ttl=600) is True
    assert nonce_claim(entity_id="e1", nonce=nonce, ttl=600) is False
    conn = redis.Redis.from_url(settings.REDIS_URL)
    key = f"{KEY_PREFIX}e1:{nonce}"
    try:
        assert 590 <= conn.ttl(key) <= 600
    finally:
        conn.delete(key)


def test_unreachable_redis_raises(settings, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(django_redis, "get_redis_connection", lambda alias="default": dead_redis())
    with pytest.raises(ReplayGuardUnavailable):
        nonce_claim(entity_id="e1", nonce="n" * 16, ttl=600)


@pytest.mark.django_db
def test_signed_request_is_refused_when_the_replay_guard_is_down(client, settings, monkeypatch, make_entity):
    from tests.entities.conftest import sign
    from tests.entities.test_auth import WHOAMI, assert_refused

    entity, secret = make_entity()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(django_redis, "get_redis_connection", lambda alias="default": dead_redis())
    r = client.get(WHOAMI, HTTP_X_PLATOS_ENTITY=str(entity.pk), **sign(secret))
    assert_refused(r, "replay_guard_unavailable")
