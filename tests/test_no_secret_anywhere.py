"""Across every flow of the project: no secret value in an audit row or a log line.

One test drives the secret store, provider keys, connected entities (create,
regenerate, reveal, auth with a right and a wrong secret), messages and the audit
console, then scans every audit column (raw SQL) and every captured log record.
"""

import logging

import pytest
from django.test import Client

from audit.models import AuditEvent
from entities.services import entity_create, entity_secret_park, entity_secret_regenerate, entity_secret_reveal
from messages_app import services as message_services
from secrets_app.services import (
    SecretsService,
    env_var_create,
    env_var_reveal,
    env_var_update,
    provider_key_create,
    provider_key_revoke,
    provider_key_rotate,
    provider_key_test,
)
from tests.audit.secret_scan import audit_rows_containing

pytestmark = pytest.mark.django_db

TOOL_SECRET = "tool-secret-5b1e9d0c7a"  # noqa: S105
TOOL_SECRET_2 = "tool-secret-2-8c3f6a1d4e"  # noqa: S105
OPENAI = "sk-proj-" + "Q7m2X9v4K1p8R3t6W5y0Z2a4"
OPENAI_2 = "sk-proj-" + "L3n8B6c1D9f4G7h2J5k0M8q1"
GUESS = "wrong-guess-9e8d7c6b5a4f3e2d1c0b"  # noqa: S105
MESSAGE = "my card number is 4111 1111 1111 1111"


def test_no_secret_in_audit_rows_or_logs_across_every_flow(world, caplog):
    caplog.set_level(logging.DEBUG)
    admin, env = world.admin, world.prod  # admin of acme, acting in acme/production
    secrets = [TOOL_SECRET, TOOL_SECRET_2, OPENAI, OPENAI_2, GUESS, MESSAGE]

    # The one secret store: write, update, reveal, read.
    var = env_var_create(environment=env, name="TOOL_TOKEN", value=TOOL_SECRET, kind="tool", actor=admin)
    env_var_update(variable=var, value=TOOL_SECRET_2, actor=admin)
    assert env_var_reveal(variable=var, reason="debugging", actor=admin).reveal() == TOOL_SECRET_2
    assert SecretsService.read(key="TOOL_TOKEN", scope=env, actor=admin, purpose="tool").reveal() == TOOL_SECRET_2

    # Provider keys: create, read, rotate, test, revoke.
    key = provider_key_create(environment=env, provider="openai", label="main", secret=OPENAI, actor=admin)
    SecretsService.read(key="provider_key:main", scope=env, actor="system:runtime", purpose="llm")
    provider_key_rotate(key=key, secret=OPENAI_2, actor=admin)
    assert provider_key_test(key=key, actor=admin) == {"exists": True, "decryptable": True}
    provider_key_revoke(key=key, actor=admin)

    # Connected entities: create, reveal once, regenerate, runtime read, auth right and wrong.
    entity, first = entity_create(environment=env, actor=admin, slug="crm", display_name="CRM",
                                  base_url="https://crm.example.com")
    token = entity_secret_park(entity=entity, user=admin, secret=first)
    assert entity_secret_reveal(entity=entity, user=admin, token=token) == first
    assert entity_secret_reveal(entity=entity, user=admin, token=token) is None  # already shown
    entity, second = entity_secret_regenerate(entity=entity, actor=admin)
    assert SecretsService.read(key="entity:crm", scope=env, actor="system:runtime", purpose="call").reveal() == second
    client = Client()
    ok = client.get("/agent/v1/entity/whoami", HTTP_X_PLATOS_ENTITY=str(entity.pk),
                    HTTP_AUTHORIZATION=f"Bearer {second}")
    assert ok.status_code == 200
    for wrong in (first, GUESS):
        refused = client.get("/agent/v1/entity/whoami", HTTP_X_PLATOS_ENTITY=str(entity.pk),
                             HTTP_AUTHORIZATION=f"Bearer {wrong}")
        assert refused.status_code == 401
    secrets += [first, second]

    # Messages.
    thread = message_services.thread_create(title="support", created_by=admin)
    message_services.message_create(thread=thread, role="user", content=MESSAGE)

    assert AuditEvent.objects.filter(action="secret.read").count() >= 3
    assert AuditEvent.objects.filter(action="entity.auth.failed").count() == 2
    assert audit_rows_containing(secrets) == []
    logged = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records
    )
    assert caplog.records, "the flows above log (at least the refused entity requests)"
    for secret in secrets:
        assert secret not in logged, "a secret reached a log line"
