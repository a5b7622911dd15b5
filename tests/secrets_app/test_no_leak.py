"""The whole flow, with distinctive secrets, and a search for them everywhere they must not be."""

import logging

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from secrets_app.boundaries import BoundaryError
from secrets_app.models import EnvironmentVariable
from secrets_app.services import ScopedEnvService, SecretsService, provider_key_create

from .conftest import ANTHROPIC_KEY, OPENAI_KEY, OPENAI_KEY_2, SECRET, client_for, url

SECRETS = [SECRET, OPENAI_KEY, OPENAI_KEY_2, ANTHROPIC_KEY, "tool-UPDATED-9c8b7a6f5e4d"]


def _all_tables_as_text() -> str:
    """Every row of every table, read with SQL (no field decoding)."""
    chunks = []
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        for model in apps.get_models():
            if not model._meta.managed or model._meta.proxy:
                continue
            cur.execute(f"SELECT * FROM {qn(model._meta.db_table)}")  # noqa: S608 - table names from the ORM
            chunks.append(f"{model._meta.db_table}: {cur.fetchall()!r}")
    return "\n".join(chunks)


def run_flow(world, caplog, admin_client) -> dict[str, str]:
    """Drive every path a secret takes; return what each observer could see."""
    seen: dict[str, list[str]] = {"api": [], "exceptions": [], "admin": [], "audit": []}
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")  # Django's own loggers stop at INFO by default
    connection.force_debug_cursor = True  # log every SQL statement with its parameters
    try:
        admin, member = client_for(world.admin), client_for(world.member)
        r = admin.post(url("env-vars/"), {"name": "TOOL_TOKEN", "value": SECRET, "kind": "tool"}, format="json")
        assert r.status_code == 201
        seen["api"].append(r.content.decode())
        r = admin.patch(url("env-vars/TOOL_TOKEN/"), {"value": SECRETS[-1]}, format="json")
        seen["api"].append(r.content.decode())
        r = admin.post(url("provider-keys/"), {"provider": "openai", "label": "main", "secret": OPENAI_KEY},
                       format="json")
        kid = r.json()["id"]
        seen["api"].append(r.content.decode())
        r = admin.post(url("provider-keys/"), {"provider": "openai", "label": "x", "secret": ANTHROPIC_KEY},
                       format="json")
        assert r.status_code == 400
        seen["api"].append(r.content.decode())
        for path in ["env-vars/", "env-vars/TOOL_TOKEN/", "provider-keys/", f"provider-keys/{kid}/", "skills/"]:
            seen["api"].append(member.get(url(path)).content.decode())
        seen["api"].append(admin.post(url(f"provider-keys/{kid}/test/")).content.decode())
        # Runtime reads, successful and failing.
        value = SecretsService.read(key="provider_key:main", scope="acme/production", actor="system:runtime",
                                    purpose="llm_call")
        logging.getLogger("agent.runtime").debug("calling provider with key=%s headers=%r", value,
                                                 {"Authorization": f"Bearer {value.reveal()}"})
        logging.getLogger("agent.runtime").info("raw key in an f-string by mistake: %s", value.reveal())
        ScopedEnvService.get(environment=world.prod, name="TOOL_TOKEN")
        logging.getLogger("thirdparty.http").warning("request failed for token %s", SECRETS[-1])
        seen["api"].append(admin.post(url(f"provider-keys/{kid}/rotate/"), {"secret": OPENAI_KEY_2},
                                      format="json").content.decode())
        for key in ["MISSING_ONE", "provider_key:nope"]:
            with pytest.raises(BoundaryError) as err:
                SecretsService.read(key=key, scope=world.prod, actor=world.member, purpose="x")
            seen["exceptions"].append(str(err.value) + repr(err.value))
        with pytest.raises(ValidationError) as err:
            provider_key_create(environment=world.prod, provider="anthropic", label="y", secret=OPENAI_KEY_2,
                                actor=world.admin)
        seen["exceptions"].append(str(err.value) + repr(err.value))
        try:
            raise RuntimeError(f"downstream said: invalid key {value.reveal()}")
        except RuntimeError:
            logging.getLogger("agent.runtime").exception("provider call failed")
        # The one place a value is meant to be shown: reveal (its response is not searched).
        r = admin.post(url("env-vars/TOOL_TOKEN/reveal/"), {"reason": "leak test"}, format="json")
        assert r.json()["value"] == SECRETS[-1]
        var = EnvironmentVariable.objects.get(name="TOOL_TOKEN")
        base = "/admin/secrets_app/"
        admin_pages = [f"{base}environmentvariable/", f"{base}environmentvariable/{var.pk}/change/",
                       f"{base}providerkey/", f"{base}providerkey/{kid}/change/"]
        for page in admin_pages:
            response = admin_client.get(page)
            assert response.status_code == 200
            seen["admin"].append(response.content.decode())
        admin.post(url(f"provider-keys/{kid}/revoke/"))
    finally:
        connection.force_debug_cursor = False
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM audit_auditevent")
        seen["audit"].append(repr(cur.fetchall()))
    seen["database"] = [_all_tables_as_text()]
    seen["logs"] = [caplog.text + "".join(r.getMessage() + str(r.exc_text) for r in caplog.records)]
    assert "SELECT" in caplog.text or "INSERT" in caplog.text  # the SQL log really was captured
    return {name: "\n".join(parts) for name, parts in seen.items()}


@pytest.mark.django_db
def test_no_secret_value_appears_anywhere_across_the_whole_flow(world, caplog, client):
    client.force_login(world.root)
    observed = run_flow(world, caplog, client)
    for where, text in observed.items():
        for secret in SECRETS:
            assert secret not in text, f"a secret value leaked into {where}"
    assert "[redacted]" in observed["logs"]


@pytest.mark.redis
@pytest.mark.django_db
def test_no_secret_value_reaches_redis(world, caplog, client):
    import redis

    client.force_login(world.root)
    run_flow(world, caplog, client)
    r = redis.Redis.from_url(settings.REDIS_URL)
    dump = []
    for key in r.scan_iter(count=500):
        dump.append(repr(key))
        kind = r.type(key)
        if kind == b"string":
            dump.append(repr(r.get(key)))
        elif kind == b"hash":
            dump.append(repr(r.hgetall(key)))
    text = "\n".join(dump)
    for secret in SECRETS:
        assert secret.encode().hex() not in text.encode().hex() and secret not in text
