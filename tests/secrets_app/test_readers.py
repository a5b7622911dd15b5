import logging

import pytest
from django.db import DatabaseError

from audit.models import AuditEvent
from platos.core.logging import redact
from secrets_app import boundaries
from secrets_app.boundaries import BoundaryError
from secrets_app.models import EnvironmentVariable, ProviderKey
from secrets_app.services import (
    ScopedEnvService,
    SecretsService,
    env_var_create,
    provider_key_disable,
    provider_key_revoke,
)
from secrets_app.values import SecretValue
from tests.factories import EnvironmentVariableFactory, ProviderKeyFactory

from .conftest import OPENAI_KEY, SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(world):
    EnvironmentVariableFactory(environment=world.prod, name="TOOL_TOKEN", value=SECRET, kind="tool", actor=world.admin)
    key = ProviderKeyFactory(environment=world.prod, provider="openai", label="main", secret=OPENAI_KEY,
                             actor=world.admin)
    mark_audit()
    return key


_MARK = [0]


@pytest.fixture(autouse=True)
def _fresh_mark():
    _MARK[0] = 0  # ids restart after a rolled-back test: never carry a mark over


def mark_audit():
    """Remember the newest audit row: the table is append-only, so tests look past a mark."""
    _MARK[0] = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def new_rows():
    return AuditEvent.objects.filter(id__gt=_MARK[0]).order_by("id")


def reads():
    return list(new_rows().filter(action="secret.read"))


def test_env_var_read_returns_a_secret_value_and_audits_once(world, stored):
    value = SecretsService.read(key="TOOL_TOKEN", scope="acme/production", actor=world.member, purpose="tool_call")
    assert isinstance(value, SecretValue) and value.reveal() == SECRET
    [row] = reads()
    assert (row.actor, row.actor_user_id, row.key, row.scope, row.success, row.reason) == (
        "max", world.member.pk, "TOOL_TOKEN", "acme/production", True, "")
    assert row.extra == {"purpose": "tool_call", "boundary": "env"}
    assert new_rows().count() == 1
    # The value read is now redacted from logs.
    assert SECRET not in redact(f"oops {SECRET}")


def test_provider_key_read_by_label_and_id_sets_last_used(world, stored):
    assert stored.last_used_at is None
    value = SecretsService.read(key="provider_key:main", scope=world.prod, actor="system:runtime", purpose="llm")
    assert value.reveal() == OPENAI_KEY
    assert ProviderKey.objects.get(pk=stored.pk).last_used_at is not None
    assert SecretsService.read(key=f"provider_key:{stored.pk}", scope=world.prod, actor="system:runtime",
                               purpose="llm").reveal() == OPENAI_KEY
    rows = reads()
    assert [(r.actor, r.success, r.extra["boundary"]) for r in rows] == [
        ("system:runtime", True, "provider_key"), ("system:runtime", True, "provider_key")]


@pytest.mark.parametrize(
    "case, key, reason",
    [
        ("missing var", "NOPE", "missing"),
        ("missing provider key", "provider_key:nope", "missing"),
        ("unknown boundary", "vault:x", "unknown_boundary"),
        ("unknown scope", "TOOL_TOKEN", "unknown_scope"),
        ("no permission", "TOOL_TOKEN", "no_permission"),
        ("disabled", "provider_key:main", "disabled"),
        ("revoked", "provider_key:main", "revoked"),
        ("revoked by var name", "VAR_OF_KEY", "revoked"),
        ("decryption failed", "TOOL_TOKEN", "decryption_failed"),
    ],
)
def test_every_failure_writes_exactly_one_row(world, stored, case, key, reason):
    scope, actor = "acme/production", world.member
    if case == "unknown scope":
        scope = "acme/nowhere"
    if case == "no permission":
        actor = world.outsider
    if case == "disabled":
        provider_key_disable(key=stored, actor=world.admin)
    if case.startswith("revoked"):
        provider_key_revoke(key=stored, actor=world.admin)
        key = key.replace("VAR_OF_KEY", stored.env_var_name)
    if case == "decryption failed":
        # A ciphertext from another column does not decrypt here (context bound in).
        from platos.core.envelope import encrypt
        token = encrypt("x", keyring="encryption", context="secrets_app.Other.value")
        from django.db import connection
        with connection.cursor() as cur:
            cur.execute("UPDATE secrets_app_environmentvariable SET value = %s WHERE name = %s",
                        [token, "TOOL_TOKEN"])
    mark_audit()
    with pytest.raises(BoundaryError) as err:
        SecretsService.read(key=key, scope=scope, actor=actor, purpose="test")
    assert err.value.reason == reason
    [row] = new_rows()
    assert (row.action, row.success, row.reason, row.key) == ("secret.read", False, reason, key)
    assert row.scope == scope
    assert row.actor == actor.username


def test_read_fails_closed_when_the_audit_row_cannot_be_written(world, stored, monkeypatch):
    def broken(**kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr("secrets_app.services.readers.audit_record", broken)
    result = None
    with pytest.raises(DatabaseError):
        result = SecretsService.read(key="provider_key:main", scope=world.prod, actor=world.member, purpose="x")
    assert result is None
    # The read's own effects rolled back with it.
    assert ProviderKey.objects.get(pk=stored.pk).last_used_at is None
    assert not new_rows().exists()


def test_read_fails_closed_on_a_database_level_audit_failure(world, stored, monkeypatch):
    from audit.models import AuditEvent as Model

    def refuse(self, *args, **kwargs):
        raise DatabaseError("insert into audit_auditevent refused")

    monkeypatch.setattr(Model, "save", refuse)
    with pytest.raises(DatabaseError):
        SecretsService.read(key="TOOL_TOKEN", scope=world.prod, actor=world.member, purpose="x")


def test_scoped_env_service_has_no_os_environ_fallback(world, monkeypatch):
    monkeypatch.setenv("ONLY_IN_PROCESS_ENV", "from-the-host-environment")
    with pytest.raises(BoundaryError) as err:
        ScopedEnvService.get(environment=world.prod, name="ONLY_IN_PROCESS_ENV")
    assert err.value.reason == "missing"


def test_scoped_env_service_is_scoped_and_reads_fresh(world):
    env_var_create(environment=world.staging, name="TOOL_TOKEN", value="staging-value-123", actor=world.admin)
    with pytest.raises(BoundaryError):
        ScopedEnvService.get(environment=world.prod, name="TOOL_TOKEN")
    assert ScopedEnvService.get(environment=world.staging, name="TOOL_TOKEN") == "staging-value-123"
    changed = EnvironmentVariable.objects.get(name="TOOL_TOKEN")  # (update() of a row-bound value is refused)
    changed.value = "changed-value-456"
    changed.save()
    assert ScopedEnvService.get(environment=world.staging, name="TOOL_TOKEN") == "changed-value-456"


def test_registered_boundary_is_used_and_audited(world):
    seen = {}

    def reader(*, name, environment):
        seen["args"] = (name, environment.scope)
        if name == "gone":
            raise BoundaryError("missing")
        return "entity-secret-abcdef"

    boundaries.register("plugin", reader)
    try:
        value = SecretsService.read(key="plugin:crm", scope=world.prod, actor="system:auth", purpose="auth")
        assert value.reveal() == "entity-secret-abcdef" and seen["args"] == ("crm", "acme/production")
        with pytest.raises(BoundaryError):
            SecretsService.read(key="plugin:gone", scope=world.prod, actor="system:auth", purpose="auth")
    finally:
        boundaries.unregister("plugin")
    assert [(r.key, r.success, r.extra["boundary"]) for r in reads()] == [
        ("plugin:crm", True, "plugin"), ("plugin:gone", False, "plugin")]


def test_a_crashing_boundary_is_an_audited_failure_without_its_message(world, caplog):
    def reader(*, name, environment):
        raise RuntimeError(f"boom {SECRET}")

    boundaries.register("broken", reader)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(BoundaryError) as err:
            SecretsService.read(key="broken:x", scope=world.prod, actor="system:t", purpose="t")
    finally:
        boundaries.unregister("broken")
    assert err.value.reason == "error" and SECRET not in str(err.value)
    assert "RuntimeError" in caplog.text and "reader" in caplog.text  # the stack is kept
    assert SECRET not in caplog.text  # ...but not the message, which may hold a value
    [row] = reads()
    assert row.reason == "error" and not row.success


def test_a_lost_unique_race_is_a_validation_error_not_a_500(world, stored):
    from django.core.exceptions import ValidationError

    from secrets_app.services.env_vars import save_unique

    # What the loser of two concurrent creates meets after both passed the exists() check.
    twin = EnvironmentVariable(environment=world.prod, name="TOOL_TOKEN", value="another-value-123", kind="tool")
    with pytest.raises(ValidationError) as exc:
        save_unique(twin, field="name", message="TOOL_TOKEN already exists in acme/production")
    assert exc.value.message_dict == {"name": ["TOOL_TOKEN already exists in acme/production"]}
    assert EnvironmentVariable.objects.filter(environment=world.prod, name="TOOL_TOKEN").count() == 1


def test_asking_to_reveal_a_provider_keys_secret_is_refused_and_audited(world, stored):
    from django.core.exceptions import ValidationError

    from secrets_app.services import env_var_reveal

    variable = EnvironmentVariable.objects.get(environment=world.prod, name=stored.env_var_name)
    mark_audit()
    with pytest.raises(ValidationError):
        env_var_reveal(variable=variable, reason="curious", actor=world.admin)
    [row] = new_rows()
    assert (row.action, row.success, row.extra["failure"], row.key) == (
        "secret.reveal", False, "no_permission", stored.env_var_name)
    assert OPENAI_KEY not in str(row.__dict__)
