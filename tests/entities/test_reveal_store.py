import threading
import time

import pytest
import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from entities.reveal_store import (
    KEY_PREFIX,
    TTL_SECONDS,
    MemoryRevealStore,
    RedisRevealStore,
    RevealStoreUnavailable,
    get_reveal_store,
)

SECRET = "ab" * 32


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def dead_redis():
    """A client for a port nothing listens on, without retries (keeps the test fast)."""
    return redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))


def _redis():
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request):
    if request.param == "memory":
        return MemoryRevealStore()
    return RedisRevealStore()


def test_take_once_and_only_for_its_user_and_entity(store):
    token = store.park(SECRET, user_id=1, entity_id="e1")
    assert store.take(token, user_id=1, entity_id="e1") == SECRET
    assert store.take(token, user_id=1, entity_id="e1") is None


def test_token_of_user_a_is_useless_to_user_b_and_then_burnt(store):
    token = store.park(SECRET, user_id=1, entity_id="e1")
    result = store.take_result(token, user_id=2, entity_id="e1")
    assert result.value is None and result.reason == "wrong_binding"
    # Documented policy: a token presented by the wrong user has leaked; the value is destroyed.
    assert store.take(token, user_id=1, entity_id="e1") is None


def test_token_is_bound_to_the_entity_too(store):
    token = store.park(SECRET, user_id=1, entity_id="e1")
    assert store.take(token, user_id=1, entity_id="e2") is None


@pytest.mark.parametrize("token", ["", "short", "x" * 200, "../../etc", None])
def test_malformed_tokens_find_nothing(store, token):
    assert store.take(token, user_id=1, entity_id="e1") is None


def test_two_threads_taking_the_same_token_exactly_one_wins(store):
    token = store.park(SECRET, user_id=1, entity_id="e1")
    barrier = threading.Barrier(8)
    results = []

    def take():
        barrier.wait()
        results.append(store.take(token, user_id=1, entity_id="e1"))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and results.count(SECRET) == 1 and results.count(None) == 7


def test_memory_store_expires_after_ttl():
    clock = FakeClock()
    store = MemoryRevealStore(clock=clock)
    token = store.park(SECRET, user_id=1, entity_id="e1")
    clock.now += TTL_SECONDS + 0.001
    assert store.take(token, user_id=1, entity_id="e1") is None
    token = store.park(SECRET, user_id=1, entity_id="e1")
    clock.now += TTL_SECONDS - 1
    assert store.take(token, user_id=1, entity_id="e1") == SECRET


def test_without_redis_url_the_in_process_store_serves(settings):
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert isinstance(get_reveal_store(), MemoryRevealStore)


@pytest.mark.redis
def test_redis_holds_an_envelope_with_ttl_300_and_no_plaintext():
    assert isinstance(get_reveal_store(), RedisRevealStore)
    binding = "entity-binding-4f7c9a"  # long enough never to appear in base64 by chance
    token = RedisRevealStore().park(SECRET, user_id=1, entity_id=binding)
    conn = _redis()
    raw = conn.get(KEY_PREFIX + token)
    try:
        assert raw is not None and raw.startswith(b"pv1:")
        assert SECRET.encode() not in raw and SECRET[:16].encode() not in raw
        assert binding.encode() not in raw  # the binding is inside the envelope too
        assert 295 <= conn.ttl(KEY_PREFIX + token) <= TTL_SECONDS
    finally:
        conn.delete(KEY_PREFIX + token)


@pytest.mark.redis
def test_redis_ttl_expiry():
    store = RedisRevealStore(ttl=1)
    token = store.park(SECRET, user_id=1, entity_id="e1")
    time.sleep(1.2)
    assert store.take(token, user_id=1, entity_id="e1") is None
    assert _redis().exists(KEY_PREFIX + token) == 0


def test_unreachable_redis_raises_unavailable_without_the_value():
    dead = RedisRevealStore(connection=dead_redis)
    with pytest.raises(RevealStoreUnavailable) as exc:
        dead.park(SECRET, user_id=1, entity_id="e1")
    assert SECRET not in str(exc.value)
    with pytest.raises(RevealStoreUnavailable):
        dead.take("t" * 43, user_id=1, entity_id="e1")
