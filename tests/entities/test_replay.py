import secrets

import pytest
import redis
from django.conf import settings

from entities.replay import KEY_PREFIX, ReplayGuardUnavailable, nonce_claim

IN_PROCESS = {"BACKEND": "entities.replay.NonceMemoryCache", "LOCATION": "test-nonces"}
# Nothing listens on port 1: a Redis that cannot be reached (fast: refused at once).
DEAD_REDIS = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
              "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}}


def use_nonce_cache(settings, config):
    settings.CACHES = {**settings.CACHES, "nonces": config}


def test_in_process_nonce_is_accepted_once(settings):
    use_nonce_cache(settings, IN_PROCESS)
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


def test_unreachable_redis_raises(settings):
    use_nonce_cache(settings, DEAD_REDIS)
    with pytest.raises(ReplayGuardUnavailable):
        nonce_claim(entity_id="e1", nonce="n" * 16, ttl=600)


@pytest.mark.django_db
def test_signed_request_is_refused_when_the_replay_guard_is_down(client, settings, make_entity):
    from tests.entities.conftest import sign
    from tests.entities.test_auth import WHOAMI, assert_refused

    entity, secret = make_entity()
    use_nonce_cache(settings, DEAD_REDIS)
    r = client.get(WHOAMI, HTTP_X_PLATOS_ENTITY=str(entity.pk), **sign(secret))
    assert_refused(r, "replay_guard_unavailable")


class Tick:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def memory_cache(location):
    from entities.replay import NonceMemoryCache

    cache = NonceMemoryCache(location, {})
    cache.clear()
    cache._clock = Tick()
    return cache


def test_in_process_cache_never_evicts_a_live_nonce():
    cache = memory_cache("test-no-cull")
    for i in range(1000):  # LocMemCache would have culled past 300
        assert cache.add(f"n{i}", "1", timeout=600) is True
    assert not any(cache.add(f"n{i}", "1", timeout=600) for i in range(1000))
    assert len(cache) == 1000


def test_in_process_cache_expires_on_writes_and_never_early():
    cache = memory_cache("test-expiry")
    cache.add("long", "1", timeout=900)  # ahead of shorter ones in the FIFO
    for i in range(10):
        cache.add(f"short{i}", "1", timeout=600)
    cache._clock.now += 600
    assert cache.add("short3", "1", timeout=600) is True  # expired: accepted again
    assert cache.add("long", "1", timeout=900) is False  # still live
    assert len(cache) == 11  # the expired shorts behind "long" wait for it (memory, not safety)
    cache._clock.now += 300
    cache.add("later", "1", timeout=600)  # the write that drops what has expired
    assert len(cache) == 2  # short3 (re-added at 600) and later
    assert cache.add("short3", "1", timeout=600) is False


def test_in_process_cache_is_shared_by_the_instances_of_one_location():
    from entities.replay import NonceMemoryCache

    first = memory_cache("test-shared")
    assert first.add("n", "1", timeout=60) is True
    other_thread_instance = NonceMemoryCache("test-shared", {})
    other_thread_instance._clock = first._clock
    assert other_thread_instance.add("n", "1", timeout=60) is False
    elsewhere = memory_cache("test-elsewhere")
    assert elsewhere.add("n", "1", timeout=60) is True
    assert first.delete("n") is True and first.get("n") is None


def test_default_settings_use_the_in_process_nonce_cache_without_redis():
    from django.core.cache import caches

    from entities.replay import NonceMemoryCache

    expected = NonceMemoryCache if not settings.REDIS_URL else type(caches["default"])
    assert isinstance(caches["nonces"], expected)
