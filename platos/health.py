"""``/healthz`` and ``/readyz`` for load balancers and orchestrators.

Answered by the first middleware, before ``SecurityMiddleware`` and host validation:
a load balancer probes over plain HTTP with whatever Host header it likes, and must
neither be redirected to HTTPS nor refused as a disallowed host. The answers name
which check failed and never carry an exception text (it could hold a DSN).

* ``/healthz``: the process is up and serving Python. No database, no cache.
* ``/readyz``: the database answers, each keyring's key canary matches the configured
  keys, and Redis answers when ``REDIS_URL`` is set. 200 when all pass, else 503.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger("platos.health")

HEALTH_PATHS = {"/healthz", "/healthz/"}
READY_PATHS = {"/readyz", "/readyz/"}


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return "unreachable"
    return "ok"


def _key_canary() -> str:
    from platos.rotation.canary import canary_state

    problems = []
    for ring in settings.PLATOS_KEYRINGS:
        try:
            state = canary_state(ring)
        except DatabaseError:
            return "unreachable"
        if state.status == "ok":
            continue
        if state.status in ("missing", "no table"):
            problems.append(f"{ring}: no canary yet (run `manage.py migrate`)")
        else:
            problems.append(f"{ring}: {state.status} (compare key ids with `manage.py key_status`)")
    return "; ".join(problems) or "ok"


_redis_client = None


def _redis() -> str:
    # Its own small client (one connection per process), so the probe does not depend
    # on which cache backend the settings configure over REDIS_URL.
    global _redis_client
    import redis

    try:
        if _redis_client is None:
            _redis_client = redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=2.0, socket_timeout=2.0
            )
        _redis_client.ping()
    except (redis.RedisError, OSError):
        return "unreachable"
    return "ok"


def readiness() -> dict[str, str]:
    """Each check's verdict: "ok", or what is wrong (no exception text, no secret)."""
    checks = {"database": _database()}
    checks["key_canary"] = _key_canary() if checks["database"] == "ok" else "skipped (no database)"
    if settings.REDIS_URL:
        checks["redis"] = _redis()
    return checks


def _json(body: dict, status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    add_never_cache_headers(response)
    return response


class HealthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in HEALTH_PATHS:
            return _json({"status": "ok"}, 200)
        if request.path in READY_PATHS:
            checks = readiness()
            failed = sorted(name for name, verdict in checks.items() if verdict != "ok")
            if failed:
                logger.warning("readyz: not ready: %s", ", ".join(failed))
                return _json({"status": "unavailable", "failed": failed, "checks": checks}, 503)
            return _json({"status": "ok", "checks": checks}, 200)
        return self.get_response(request)
