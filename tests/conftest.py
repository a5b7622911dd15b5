"""Shared fixtures and the service policy.

Tests marked ``postgres`` / ``redis`` need that service. When it is not
configured (``make test``: SQLite, in-process cache) they are deselected, and the
summary says so. With ``PLATOS_REQUIRE_SERVICES=1`` (CI) a configured service that
cannot be reached fails the run instead of skipping anything.
"""

import os

import pytest
from django.conf import settings

REQUIRE = os.environ.get("PLATOS_REQUIRE_SERVICES") == "1"


def _db_is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _redis_configured() -> bool:
    return bool(settings.REDIS_URL)


def pytest_collection_modifyitems(config, items):
    wanted = {"postgres": _db_is_postgres(), "redis": _redis_configured()}
    if REQUIRE:
        missing = [name for name, ok in wanted.items() if not ok]
        if missing:
            raise pytest.UsageError(
                f"PLATOS_REQUIRE_SERVICES=1 but {', '.join(missing)} not configured "
                "(set DATABASE_URL=postgres://... and REDIS_URL=redis://...)"
            )
    keep, drop = [], []
    for item in items:
        needs = [m for m in wanted if item.get_closest_marker(m)]
        (drop if any(not wanted[m] for m in needs) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        config._platos_deselected = len(drop)


def pytest_terminal_summary(terminalreporter, config):
    n = getattr(config, "_platos_deselected", 0)
    if n:
        terminalreporter.write_line(
            f"{n} tests need PostgreSQL/Redis and were not collected; "
            "set DATABASE_URL and REDIS_URL to run them (CI does)."
        )


def pytest_sessionstart(session):
    if not REQUIRE:
        return
    # Fail fast and loudly when a configured service is down.
    if _redis_configured():
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    if _db_is_postgres():
        import psycopg

        db = settings.DATABASES["default"]
        psycopg.connect(
            host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"],
            password=db["PASSWORD"] or None, dbname="postgres", connect_timeout=3,
        ).close()


@pytest.fixture
def raw_column(django_db_blocker):
    """Read a column straight from the database with SQL (no ORM, no field decoding)."""
    from django.db import connection

    def read(model, field_name, pk):
        table = model._meta.db_table
        column = model._meta.get_field(field_name).column
        qn = connection.ops.quote_name
        pk_value = model._meta.pk.get_db_prep_value(pk, connection)  # UUIDs are hex text on SQLite
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT {qn(column)} FROM {qn(table)} WHERE {qn(model._meta.pk.column)} = %s",
                [pk_value],
            )
            row = cur.fetchone()
        return row[0] if row else None

    return read


class World:
    """Two projects, three environments, one user per role. Built from tests/factories.

    acme: production (``prod``, alias ``env``), staging; beta: production (``beta_prod``,
    alias ``other_env``). ``admin`` (ada) is admin of acme, ``member`` (max) a member of
    acme, ``outsider`` (olga) admin of beta only, ``root`` a superuser. ``project`` is acme.
    """


@pytest.fixture
def world(db) -> World:
    from tests.factories import (
        EnvironmentFactory,
        ProjectFactory,
        ProjectMembershipFactory,
        SuperUserFactory,
        UserFactory,
    )

    w = World()
    w.acme = w.project = ProjectFactory(slug="acme", name="Acme")
    w.beta = ProjectFactory(slug="beta", name="Beta")
    w.prod = w.env = EnvironmentFactory(project=w.acme, slug="production")
    w.staging = EnvironmentFactory(project=w.acme, slug="staging")
    w.beta_prod = w.other_env = EnvironmentFactory(project=w.beta, slug="production")
    w.admin = UserFactory(username="ada", password="pw-ada-123")  # noqa: S106
    w.member = UserFactory(username="max")
    w.outsider = UserFactory(username="olga")
    w.root = SuperUserFactory(username="root", email="root@example.com", password="pw-root-123")  # noqa: S106
    ProjectMembershipFactory(user=w.admin, project=w.acme, role="admin")
    ProjectMembershipFactory(user=w.member, project=w.acme, role="member")
    ProjectMembershipFactory(user=w.outsider, project=w.beta, role="admin")
    return w
@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters (secrets_app/throttles.py) live in the default cache, which
    outlives a test: start every test with none, as a fresh window would. The cache is
    this run's own (locmem, or the Redis db given as REDIS_URL)."""
    from django.core.cache import cache

    cache.clear()
