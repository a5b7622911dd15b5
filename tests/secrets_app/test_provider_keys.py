import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from audit.models import AuditEvent
from platos.core.envelope import decrypt
from platos.core.rowbound import spec_of
from secrets_app.boundaries import BoundaryError
from secrets_app.models import EnvironmentVariable, ProviderKey
from secrets_app.services import (
    ScopedEnvService,
    provider_key_create,
    provider_key_delete,
    provider_key_disable,
    provider_key_enable,
    provider_key_revoke,
    provider_key_rotate,
    provider_key_set_default,
    provider_key_test,
)

from .conftest import ANTHROPIC_KEY, OPENAI_KEY, OPENAI_KEY_2

CONTEXT = "secrets_app.EnvironmentVariable.value"


def make(world, label="main", provider="openai", secret=OPENAI_KEY, env=None):
    return provider_key_create(environment=env or world.prod, provider=provider, label=label, secret=secret,
                               actor=world.admin)


def actions():
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


@pytest.mark.django_db
def test_create_stores_the_secret_only_as_ciphertext_in_the_store(world, raw_column):
    key = make(world)
    var = EnvironmentVariable.objects.get(name=key.env_var_name)
    assert var.kind == "provider_key" and var.version == 1
    raw = raw_column(EnvironmentVariable, "value", var.pk)
    assert raw.startswith("pv2:") and OPENAI_KEY not in raw  # row-bound (issue 13)
    row = spec_of(EnvironmentVariable).row_of(var)
    assert decrypt(raw, keyring="encryption", context=CONTEXT, row=row) == OPENAI_KEY
    # The metadata row holds no secret in any column.
    row = ProviderKey.objects.filter(pk=key.pk).values().get()
    assert OPENAI_KEY not in repr(row)
    assert key.is_default  # first key of its provider
    assert make(world, label="second", secret=OPENAI_KEY_2).is_default is False
    assert actions() == ["provider_key.create", "provider_key.create"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "provider, secret, detected",
    [("openai", ANTHROPIC_KEY, "Anthropic"), ("anthropic", OPENAI_KEY, "OpenAI"),
     ("mistral", "AIzaSyD-abcdefghijklmnopqrstuvwxyz012345", "Google"), ("google", OPENAI_KEY, "OpenAI")],
)
def test_a_key_of_another_provider_is_refused_without_echoing_it(world, provider, secret, detected):
    with pytest.raises(ValidationError) as err:
        make(world, provider=provider, secret=secret)
    message = str(err.value)
    assert detected in message and secret not in message and secret[8:] not in message
    assert not ProviderKey.objects.exists() and not EnvironmentVariable.objects.exists()


@pytest.mark.django_db
def test_custom_provider_and_unprefixed_keys_are_accepted(world):
    make(world, provider="custom", secret=OPENAI_KEY, label="proxy")
    make(world, provider="mistral", secret="mistral0123456789abcdefXYZ", label="m")
    make(world, provider="anthropic", secret=ANTHROPIC_KEY, label="a")


@pytest.mark.django_db
def test_rotate_leaves_the_old_value_unreadable(world, raw_column):
    key = make(world)
    var = EnvironmentVariable.objects.get(name=key.env_var_name)
    old_token = raw_column(EnvironmentVariable, "value", var.pk)
    provider_key_rotate(key=key, secret=OPENAI_KEY_2, actor=world.admin)
    var.refresh_from_db()
    assert var.version == 2
    assert ScopedEnvService.get(environment=world.prod, name=key.env_var_name) == OPENAI_KEY_2
    new_token = raw_column(EnvironmentVariable, "value", var.pk)
    assert new_token != old_token
    # Nothing stored anywhere in the table still decrypts to the old value.
    with connection.cursor() as cur:
        cur.execute("SELECT value, environment_id, name, version FROM secrets_app_environmentvariable "
                    "WHERE value IS NOT NULL")
        stored = [(row[0], spec_of(EnvironmentVariable).row_from_db(row[1:])) for row in cur.fetchall()]
    assert old_token not in [token for token, _ in stored]
    assert OPENAI_KEY not in [decrypt(t, keyring="encryption", context=CONTEXT, row=row) for t, row in stored]
    assert actions()[-1] == "provider_key.rotate"
    rotate_row = AuditEvent.objects.get(action="provider_key.rotate")
    assert rotate_row.extra["version"] == 2 and rotate_row.key == key.env_var_name


@pytest.mark.django_db
def test_rotate_refuses_a_wrong_provider_key(world):
    key = make(world)
    with pytest.raises(ValidationError):
        provider_key_rotate(key=key, secret=ANTHROPIC_KEY, actor=world.admin)
    assert ScopedEnvService.get(environment=world.prod, name=key.env_var_name) == OPENAI_KEY


@pytest.mark.django_db
def test_disable_enable_revoke_lifecycle(world, raw_column):
    key = make(world)
    provider_key_disable(key=key, actor=world.admin)
    with pytest.raises(BoundaryError) as err:
        ScopedEnvService.get(environment=world.prod, name=key.env_var_name)
    assert err.value.reason == "disabled"
    assert ProviderKey.objects.get(pk=key.pk).is_default is False
    provider_key_enable(key=key, actor=world.admin)
    assert ScopedEnvService.get(environment=world.prod, name=key.env_var_name) == OPENAI_KEY
    provider_key_revoke(key=key, actor=world.admin)
    var = EnvironmentVariable.objects.get(name=key.env_var_name)
    assert raw_column(EnvironmentVariable, "value", var.pk) is None  # destroyed, row kept
    assert ProviderKey.objects.get(pk=key.pk).status == "revoked"
    with pytest.raises(ValidationError):
        provider_key_enable(key=key, actor=world.admin)
    with pytest.raises(ValidationError):
        provider_key_rotate(key=key, secret=OPENAI_KEY_2, actor=world.admin)
    assert actions() == ["provider_key.create", "provider_key.disable", "provider_key.enable", "provider_key.revoke"]


@pytest.mark.django_db
def test_test_answers_exists_and_decryptable_never_the_value(world):
    key = make(world)
    result = provider_key_test(key=key, actor=world.member)
    assert result == {"exists": True, "decryptable": True}
    assert OPENAI_KEY not in repr(result)
    EnvironmentVariable.objects.filter(name=key.env_var_name).update(value=None)
    with connection.cursor() as cur:  # a ciphertext of another column: present but undecryptable
        from platos.core.envelope import encrypt
        cur.execute("UPDATE secrets_app_environmentvariable SET value = %s WHERE name = %s",
                    [encrypt(OPENAI_KEY, keyring="encryption", context="other.Model.field"), key.env_var_name])
    assert provider_key_test(key=key, actor=world.member) == {"exists": True, "decryptable": False}
    provider_key_revoke(key=key, actor=world.admin)
    assert provider_key_test(key=key, actor=world.member) == {"exists": False, "decryptable": False}
    assert ProviderKey.objects.get(pk=key.pk).last_used_at is None
    rows = AuditEvent.objects.filter(action="provider_key.test")
    assert rows.count() == 3 and all(OPENAI_KEY not in repr(r.extra) for r in rows)


@pytest.mark.django_db
def test_delete_removes_key_and_variable(world):
    key = make(world)
    provider_key_delete(key=key, actor=world.admin)
    assert not ProviderKey.objects.exists() and not EnvironmentVariable.objects.exists()
    assert actions()[-1] == "provider_key.delete"


@pytest.mark.django_db
def test_set_default_moves_the_default(world):
    a, b = make(world, label="a"), make(world, label="b", secret=OPENAI_KEY_2)
    other_env = make(world, label="c", env=world.staging)
    provider_key_set_default(key=b, actor=world.admin)
    assert list(ProviderKey.objects.filter(is_default=True).order_by("pk")) == [b, other_env]
    provider_key_disable(key=a, actor=world.admin)
    with pytest.raises(ValidationError):
        provider_key_set_default(key=a, actor=world.admin)


@pytest.mark.django_db
def test_database_refuses_two_defaults(world):
    a, b = make(world, label="a"), make(world, label="b", secret=OPENAI_KEY_2)
    assert a.is_default
    with pytest.raises(IntegrityError), transaction.atomic():
        ProviderKey.objects.filter(pk=b.pk).update(is_default=True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_set_default_leaves_exactly_one_default(world):
    keys = [make(world, label=f"k{i}", secret=f"sk-proj-concurrent{i:02d}abcdefghijkl") for i in range(6)]
    barrier = threading.Barrier(len(keys))
    errors = []

    def worker(key):
        try:
            barrier.wait(timeout=10)
            provider_key_set_default(key=key, actor=world.admin)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert ProviderKey.objects.filter(environment=world.prod, provider="openai", is_default=True).count() == 1
    assert AuditEvent.objects.filter(action="provider_key.set_default").count() == len(keys)

