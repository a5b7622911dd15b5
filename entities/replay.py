"""Replay guard for signed entity requests: each nonce is accepted once.

Redis ``SET NX EX`` when REDIS_URL is set (every web process shares it); an
in-process dict behind a lock otherwise. A nonce is remembered for twice the
allowed clock skew, the longest time a request carrying it can stay valid.
Unreachable Redis raises ``ReplayGuardUnavailable``: the auth path then refuses
the request (it cannot prove the nonce is fresh).
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

KEY_PREFIX = "platos:entity-nonce:"


class ReplayGuardUnavailable(Exception):
    pass


_lock = threading.Lock()
_seen: dict[str, float] = {}


def _claim_in_process(key: str, ttl: int) -> bool:
    now = time.monotonic()
    with _lock:
        if len(_seen) > 10_000:
            for k in [k for k, exp in _seen.items() if exp <= now]:
                del _seen[k]
        exp = _seen.get(key)
        if exp is not None and exp > now:
            return False
        _seen[key] = now + ttl
        return True


def nonce_claim(*, entity_id, nonce: str, ttl: int) -> bool:
    """True the first time ``nonce`` is seen for this entity within ``ttl`` seconds."""
    key = f"{KEY_PREFIX}{entity_id}:{nonce}"
    if not settings.REDIS_URL:
        return _claim_in_process(key, ttl)
    import redis
    from django_redis import get_redis_connection

    try:
        return bool(get_redis_connection("default").set(key, "1", nx=True, ex=ttl))
    except redis.RedisError as exc:
        raise ReplayGuardUnavailable(f"replay guard (Redis) unavailable: {type(exc).__name__}") from None
