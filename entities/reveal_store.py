"""The one-time reveal store: a freshly minted secret, parked for one take.

``park(value, user_id=, entity_id=) -> token`` and ``take(token, user_id=,
entity_id=) -> value | None``. A parked value lives at most ``ttl`` seconds
(300) and can be taken once. It is stored as an envelope under ENCRYPTION_KEY
(context ``entities.reveal-store``) holding the secret *and* the user and entity
it was parked for, so a Redis dump shows no secret and the binding cannot be
edited without the key.

Binding policy: ``take`` removes the value first (atomic GETDEL) and checks the
binding afterwards. A token presented by another user or for another entity
therefore *burns* the parked value: the token has leaked, so the secret is
destroyed rather than left for whoever holds it; the rightful user then sees
"already shown or expired" and regenerates. Nobody but the bound user ever
gets the value.

Backends, chosen by ``get_reveal_store`` from the default cache (settings.CACHES):
Redis (``platos:initial-secret:<token>``, SET EX + GETDEL, Redis >= 6.2) through
django-redis' raw client when that cache is django-redis (GETDEL is not in
Django's cache API); otherwise an in-process dict behind a lock with the same
semantics (the embedded, single-process default). With Redis unreachable, both
operations raise ``RevealStoreUnavailable``.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import caches
from django_redis.cache import RedisCache

from platos.core.envelope import DecryptionError, decrypt, encrypt

logger = logging.getLogger("platos.entities.reveal")

KEY_PREFIX = "platos:initial-secret:"
TTL_SECONDS = 300
CONTEXT = "entities.reveal-store"
CACHE_ALIAS = "default"
_TOKEN = re.compile(r"\A[A-Za-z0-9_-]{32,64}\Z")


class RevealStoreUnavailable(Exception):
    """The configured store cannot be reached. Carries no value."""


@dataclass(frozen=True)
class TakeResult:
    """What a take found. ``reason`` is for the audit row: ``taken``,
    ``already_shown_or_expired``, ``wrong_binding`` or ``undecryptable``."""

    value: str | None
    reason: str

    def __repr__(self) -> str:  # never show the value in a traceback or log
        return f"<TakeResult {self.reason}>"


class _RevealStore:
    ttl: int = TTL_SECONDS

    def _put(self, key: str, blob: str, ttl: int) -> None:
        raise NotImplementedError

    def _getdel(self, key: str) -> str | None:
        raise NotImplementedError

    def park(self, value: str, *, user_id, entity_id) -> str:
        token = secrets.token_urlsafe(32)
        payload = json.dumps({"s": value, "u": str(user_id), "e": str(entity_id)})
        self._put(KEY_PREFIX + token, encrypt(payload, keyring="encryption", context=CONTEXT), self.ttl)
        return token

    def take_result(self, token: str, *, user_id, entity_id) -> TakeResult:
        if not isinstance(token, str) or not _TOKEN.match(token):
            return TakeResult(None, "already_shown_or_expired")
        blob = self._getdel(KEY_PREFIX + token)
        if blob is None:
            return TakeResult(None, "already_shown_or_expired")
        try:
            data = json.loads(decrypt(blob, keyring="encryption", context=CONTEXT))
        except (DecryptionError, ValueError) as exc:
            logger.warning("parked reveal value could not be decrypted: %s", exc)
            return TakeResult(None, "undecryptable")
        if not (
            secrets.compare_digest(data.get("u", ""), str(user_id))
            and secrets.compare_digest(data.get("e", ""), str(entity_id))
        ):
            logger.warning("reveal token presented for another user or entity; the parked value was destroyed")
            return TakeResult(None, "wrong_binding")
        return TakeResult(data["s"], "taken")

    def take(self, token: str, *, user_id, entity_id) -> str | None:
        return self.take_result(token, user_id=user_id, entity_id=entity_id).value


class RedisRevealStore(_RevealStore):
    """Redis backend. ``connection`` returns a redis-py client (django-redis' by default)."""

    def __init__(self, connection: Callable | None = None, ttl: int = TTL_SECONDS) -> None:
        self._connection = connection or _django_redis_connection
        self.ttl = ttl

    def _put(self, key: str, blob: str, ttl: int) -> None:
        import redis

        try:
            self._connection().set(key, blob, ex=ttl)
        except redis.RedisError as exc:
            raise RevealStoreUnavailable(f"reveal store (Redis) unavailable: {type(exc).__name__}") from None

    def _getdel(self, key: str) -> str | None:
        import redis

        try:
            raw = self._connection().getdel(key)
        except redis.RedisError as exc:
            raise RevealStoreUnavailable(f"reveal store (Redis) unavailable: {type(exc).__name__}") from None
        return raw.decode("ascii") if isinstance(raw, bytes) else raw


class MemoryRevealStore(_RevealStore):
    """In-process backend: a dict with expiry behind a lock (one process only)."""

    def __init__(self, ttl: int = TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, str]] = {}

    def _put(self, key: str, blob: str, ttl: int) -> None:
        with self._lock:
            now = self._clock()
            for k in [k for k, (exp, _) in self._items.items() if exp <= now]:
                del self._items[k]
            self._items[key] = (now + ttl, blob)

    def _getdel(self, key: str) -> str | None:
        with self._lock:
            item = self._items.pop(key, None)
        if item is None or item[0] <= self._clock():
            return None
        return item[1]


def _django_redis_connection():
    from django_redis import get_redis_connection

    return get_redis_connection(CACHE_ALIAS)


_memory_store = MemoryRevealStore()


def get_reveal_store() -> _RevealStore:
    """The store for this process: Redis when the default cache is django-redis, else in-process."""
    if isinstance(caches[CACHE_ALIAS], RedisCache):
        return RedisRevealStore()
    return _memory_store
