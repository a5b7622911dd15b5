"""Replay guard for signed entity requests: each nonce is accepted once.

``cache.add`` on the ``nonces`` cache alias (settings.CACHES): atomic on django-redis
(``SET NX PX``, every web process shares it, raw key ``platos:entity-nonce:...``) and
on ``NonceMemoryCache``, the in-process fallback. A nonce is remembered for twice the
allowed clock skew, the longest time a request carrying it can stay valid. A cache
that cannot answer raises ``ReplayGuardUnavailable``: the auth path then refuses the
request (it cannot prove the nonce is fresh).

The alias is not the default cache on purpose: LocMemCache culls live entries once it
holds MAX_ENTRIES (300), and a culled nonce could be replayed.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import deque
from typing import Any

import redis
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django_redis.exceptions import ConnectionInterrupted

KEY_PREFIX = "platos:entity-nonce:"
CACHE_ALIAS = "nonces"


class ReplayGuardUnavailable(Exception):
    pass


def raw_key(key: str, key_prefix: str, version: int) -> str:
    """KEY_FUNCTION of the Redis ``nonces`` alias: the key as given (no ``:1:`` prefix)."""
    return key


def nonce_claim(*, entity_id, nonce: str, ttl: int) -> bool:
    """True the first time ``nonce`` is seen for this entity within ``ttl`` seconds."""
    key = f"{KEY_PREFIX}{entity_id}:{nonce}"
    try:
        return bool(caches[CACHE_ALIAS].add(key, "1", timeout=ttl))
    except (TimeoutError, redis.RedisError, ConnectionInterrupted) as exc:
        raise ReplayGuardUnavailable(f"replay guard unavailable: {type(exc).__name__}") from None


class _Entries:
    """One process's entries of one location: key -> (expiry, value), and a FIFO of
    (expiry, key) in write order for expiry."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, tuple[float, Any]] = {}
        self.fifo: deque[tuple[float, str]] = deque()


_locations: dict[str, _Entries] = {}
_locations_lock = threading.Lock()


class NonceMemoryCache(BaseCache):
    """In-process cache backend that never evicts a live entry and expires in O(1) amortised.

    Every write appends (expiry, key) to a FIFO and first pops the head entries whose
    expiry has passed. Nonces share one TTL, so the FIFO is in expiry order and each
    entry is pushed and popped once. An entry with a longer TTL ahead of shorter ones
    only delays their removal (memory), never ends an entry early: every read checks
    the entry's own expiry. Values are kept as given (not pickled copies). Instances
    of one LOCATION share their entries across threads, as LocMemCache's do.
    """

    def __init__(self, location: str, params: dict) -> None:
        super().__init__(params)
        with _locations_lock:
            self._entries = _locations.setdefault(location, _Entries())
        self._clock = time.monotonic

    def validate_key(self, key: str) -> None:
        # A dict key has no memcached limits: skip BaseCache's per-character warning scan
        # (about a third of a check's time, measured in tests/bench/bench_replay.py).
        return None

    def _expiry(self, timeout, now: float) -> float:
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        return math.inf if timeout is None else now + timeout

    def _live(self, key: str, now: float) -> tuple[float, Any] | None:
        item = self._entries.items.get(key)
        return item if item is not None and item[0] > now else None

    def _store(self, key: str, value: Any, expiry: float, now: float) -> None:
        entries = self._entries
        fifo, items = entries.fifo, entries.items
        while fifo and fifo[0][0] <= now:
            _, old = fifo.popleft()
            item = items.get(old)
            if item is not None and item[0] <= now:  # not re-written with a later expiry
                del items[old]
        items[key] = (expiry, value)
        if expiry != math.inf:
            fifo.append((expiry, key))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        with self._entries.lock:
            now = self._clock()
            if self._live(key, now) is not None:
                return False
            self._store(key, value, self._expiry(timeout, now), now)
            return True

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        key = self.make_and_validate_key(key, version=version)
        with self._entries.lock:
            now = self._clock()
            self._store(key, value, self._expiry(timeout, now), now)

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._entries.lock:
            item = self._live(key, self._clock())
        return default if item is None else item[1]

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        with self._entries.lock:
            now = self._clock()
            item = self._live(key, now)
            if item is None:
                return False
            self._store(key, item[1], self._expiry(timeout, now), now)
            return True

    def delete(self, key, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        with self._entries.lock:
            now = self._clock()
            live = self._live(key, now) is not None
            self._entries.items.pop(key, None)
            return live

    def has_key(self, key, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        with self._entries.lock:
            return self._live(key, self._clock()) is not None

    def clear(self) -> None:
        with self._entries.lock:
            self._entries.items.clear()
            self._entries.fifo.clear()

    def __len__(self) -> int:
        """Entries held, expired ones not yet dropped included (for tests and the bench)."""
        return len(self._entries.items)


_PURGE_EVERY_SECONDS = 60.0
_last_purge = [-math.inf]  # per process: when this process last purged old rows


def nonce_record(*, entity_id, nonce: str, ttl: int) -> bool:
    """The durable half of the guard: True when ``nonce`` is not in the database's table
    of nonces seen within ``ttl`` seconds (it is then recorded), False for a replay.

    Called after :func:`nonce_claim` accepted the nonce, so a nonce the cache lost is
    still refused. A row older than ``ttl`` no longer counts (the request it came with
    is past the skew window) and is re-used. Old rows are deleted by whichever request
    comes first once a minute per process (an indexed range delete on ``seen_at``).
    """
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from entities.models import SeenNonce

    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=ttl)
    ref = str(entity_id)
    try:
        with transaction.atomic():
            SeenNonce.objects.create(entity_ref=ref, nonce=nonce, seen_at=now)
    except IntegrityError:
        return SeenNonce.objects.filter(entity_ref=ref, nonce=nonce, seen_at__lt=cutoff).update(seen_at=now) == 1
    clock = time.monotonic()
    if clock - _last_purge[0] >= _PURGE_EVERY_SECONDS:
        _last_purge[0] = clock
        SeenNonce.objects.filter(seen_at__lt=cutoff).delete()
    return True
