"""Rate limits on the shared cache (DRF throttling), with aggregated audit rows.

Two kinds:

* **failed authentications** (per client IP, per entity): only failures count, and
  a client over the limit is refused with 429 before its credential is even checked.
  DRF throttles run after authentication, so the auth classes call
  :func:`auth_failures_check` / :func:`auth_failure_count` themselves;
* **request rates** (reveals per user, runtime reads per service account): ordinary
  DRF throttle classes for ``throttle_classes``.

Over a limit the answer is DRF's ``Throttled`` (429 JSON with ``Retry-After``), and
the audit log gets one ``auth.throttled`` row per key and window, not one per attempt.
Counters live in the default cache (Redis when ``REDIS_URL`` is set, so every
process shares them). Like DRF's own throttles, a count is read-modify-write: two
processes racing may each miss the other's last failure, never more.

Rates come from ``settings.PLATOS_THROTTLE_RATES`` (``PLATOS_THROTTLE_…`` variables),
read when a throttle is built, so a changed setting applies at once.

When the cache cannot answer (Redis down or timing out), throttling **fails open**:
the request goes on uncounted and a warning is logged. The limits are a brake on
abuse, not what keeps a secret: credentials are long random tokens, the replay guard
refuses without Redis and the reveal store says it is unavailable, so availability of
the reads wins over counting them for the minutes Redis is away.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.core.cache import caches
from django_redis.exceptions import ConnectionInterrupted
from rest_framework import exceptions, throttling

from audit.models import AuditEvent
from audit.services import audit_record, client_ip  # client_ip: one rule for "the client address"

AUTH_FAILURES_PER_IP = "auth_failures_ip"
AUTH_FAILURES_PER_ENTITY = "auth_failures_entity"
REVEALS_PER_USER = "reveal"
RUNTIME_READS = "runtime_read"


logger = logging.getLogger("platos.throttles")
CACHE_DOWN = (redis.RedisError, ConnectionInterrupted, TimeoutError)


class _FailOpenCache:
    """The default cache for the counters; a call it cannot answer is skipped (fail open)."""

    def get(self, key, default=None):
        try:
            return caches["default"].get(key, default)
        except CACHE_DOWN as exc:
            _cache_down(exc)
            return default

    def get_many(self, keys) -> dict:
        try:
            return caches["default"].get_many(keys)
        except CACHE_DOWN as exc:
            _cache_down(exc)
            return {}

    def set(self, key, value, timeout=None) -> None:
        try:
            caches["default"].set(key, value, timeout)
        except CACHE_DOWN as exc:
            _cache_down(exc)

    def add(self, key, value, timeout=None) -> bool:
        try:
            return caches["default"].add(key, value, timeout)
        except CACHE_DOWN as exc:
            _cache_down(exc)
            return False


def _cache_down(exc: Exception) -> None:
    logger.warning("rate-limit cache unavailable (%s): request not counted (fail open)", type(exc).__name__)


class _SettingsRate:
    """Rates from Django settings at build time, not DRF's import-time copy."""

    cache = _FailOpenCache()

    def get_rate(self):
        try:
            return settings.PLATOS_THROTTLE_RATES[self.scope]
        except KeyError:
            raise exceptions.ImproperlyConfigured(f"no rate for throttle scope {self.scope!r}") from None


def _audit_throttled_once(throttle: throttling.SimpleRateThrottle, *, ident: str, request, actor=None) -> None:
    """One ``auth.throttled`` row per (scope, ident) and window: ``cache.add`` picks the writer."""
    marker = f"platos:throttled-audited:{throttle.scope}:{ident}"
    if throttle.cache.add(marker, 1, timeout=throttle.duration):
        audit_record(action=AuditEvent.Action.AUTH_THROTTLED, success=False, actor=actor or "anonymous",
                     reason=throttle.scope,
                     subject_type=AuditEvent.Subject.THROTTLE, subject_id=ident[:64], request=request,
                     extra={"scope": throttle.scope, "rate": throttle.rate})


class FailureThrottle(_SettingsRate, throttling.SimpleRateThrottle):
    """Counts failures under one key; refuses while the window holds ``num_requests`` of them."""

    def __init__(self, *, scope: str, ident: str) -> None:
        self.scope = scope
        self.ident = ident
        super().__init__()
        self.key = self.cache_format % {"scope": scope, "ident": ident}

    def _load(self, found: dict | None = None) -> None:
        """``found``: this key's value already read with others (one round trip), if any."""
        self.now = self.timer()
        cached = self.cache.get(self.key, []) if found is None else found.get(self.key, [])
        self.history = [t for t in cached if t > self.now - self.duration]

    def blocked(self, found: dict | None = None) -> bool:
        self._load(found)
        return len(self.history) >= self.num_requests

    def count(self) -> None:
        self._load()
        self.cache.set(self.key, [self.now, *self.history][: self.num_requests], self.duration)


def _failure_throttles(request, entity_id, *, client: bool = True) -> list[FailureThrottle]:
    throttles = []
    if client:
        throttles.append(FailureThrottle(scope=AUTH_FAILURES_PER_IP, ident=client_ip(request.META) or "unknown"))
    if entity_id is not None:
        throttles.append(FailureThrottle(scope=AUTH_FAILURES_PER_ENTITY, ident=str(entity_id)))
    return throttles


def auth_failures_check(*, request, entity_id=None, client: bool = True) -> None:
    """Raise ``Throttled`` (after one aggregated audit row) when this client IP, or this
    entity, has used up its failed authentications for the window.

    ``client=False`` checks the entity only. The client IP is checked first (its 429
    wins); both counters are read in one cache round trip.
    """
    throttles = _failure_throttles(request, entity_id, client=client)
    found = throttles[0].cache.get_many([t.key for t in throttles]) if len(throttles) > 1 else None
    for throttle in throttles:
        if throttle.blocked(found):
            _audit_throttled_once(throttle, ident=throttle.ident, request=request)
            raise exceptions.Throttled(wait=throttle.wait())


def auth_failure_count(*, request, entity_id=None) -> None:
    """Count one failed authentication against the client IP (and the entity)."""
    for throttle in _failure_throttles(request, entity_id):
        throttle.count()


class _AuditedRateThrottle(_SettingsRate, throttling.SimpleRateThrottle):
    def allow_request(self, request, view):
        if super().allow_request(request, view):
            return True
        ident = self.get_cache_key(request, view)
        if ident is not None:
            _audit_throttled_once(self, ident=ident, request=request, actor=request.user)
        return False


class RevealRateThrottle(_AuditedRateThrottle):
    """Secret reveals per user (``…/env-vars/{name}/reveal/``)."""

    scope = REVEALS_PER_USER

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": f"user:{request.user.pk}"}


class RuntimeReadRateThrottle(_AuditedRateThrottle):
    """Runtime reads per service account, keyed on the account's user (the token owner).
    For the runtime API (``/agent/v1/runtime/…``)."""

    scope = RUNTIME_READS

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": f"user:{request.user.pk}"}
