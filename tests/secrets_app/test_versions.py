"""Version history: every value change keeps the previous value; reveal, rollback, destroy, trim, rotation."""

import pytest

from audit.models import AuditEvent
from platos.rotation.status import key_status
from secrets_app.models import EnvironmentVariable, EnvironmentVariableVersion
from secrets_app.services import (
    env_var_create,
    env_var_rollback,
    env_var_update,
    env_var_version_reveal,
    provider_key_create,
    provider_key_revoke,
    provider_key_rotate,
)
from tests.rotation.conftest import E1, E2, kid, run, use_keys  # noqa: F401 - use_keys is a fixture

from .conftest import OPENAI_KEY, OPENAI_KEY_2, SECRET, client_for, url

pytestmark = pytest.mark.django_db


def _var(world, value=SECRET, name="TOOL_TOKEN"):
    return env_var_create(environment=world.prod, name=name, value=value, kind="tool", actor=world.admin)


def test_rollback_round_trip_over_the_api(world, raw_column):
    var = _var(world)
    admin = client_for(world.admin)
    assert admin.patch(url("env-vars/TOOL_TOKEN/"), {"value": "second-value-2222"}, format="json").status_code == 200
    r = client_for(world.member).get(url("env-vars/TOOL_TOKEN/versions/"))
    assert r.status_code == 200 and [v["version"] for v in r.json()["results"]] == [1]
    row = r.json()["results"][0]
    assert row["created_by"] == "ada" and row["archived_by"] == "ada" and not row["destroyed"]
    assert "value" not in row and SECRET not in r.content.decode()
    stored = EnvironmentVariableVersion.objects.get(variable=var, version=1)
    assert SECRET not in raw_column(EnvironmentVariableVersion, "value", stored.pk)  # ciphertext at rest

    r = admin.post(url("env-vars/TOOL_TOKEN/rollback/"), {"version": 1}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 3 and SECRET not in r.content.decode()
    var.refresh_from_db()
    assert (var.value, var.version) == (SECRET, 3)
    # The rollback archived what it replaced: v2 is now history too.
    assert list(var.versions.values_list("version", flat=True)) == [2, 1]
    assert EnvironmentVariableVersion.objects.get(variable=var, version=2).value == "second-value-2222"
    event = AuditEvent.objects.get(action="secret.rollback")
    assert event.extra == {"version": 3, "restored_version": 1} and event.actor == "ada"
    assert admin.post(url("env-vars/TOOL_TOKEN/rollback/"), {"version": 9}, format="json").status_code == 400


def test_reveal_of_a_version_is_admin_only_audited_and_no_store(world):
    _var(world)
    env_var_update(variable=EnvironmentVariable.objects.get(name="TOOL_TOKEN"), value="next-value-3333",
                   actor=world.admin)
    path = url("env-vars/TOOL_TOKEN/versions/1/reveal/")
    r = client_for(world.member).post(path, {"reason": "curious"}, format="json")
    assert r.status_code == 403 and SECRET not in r.content.decode()
    assert client_for(world.admin).post(path, {}, format="json").status_code == 400  # a reason is required
    r = client_for(world.admin).post(path, {"reason": "incident 42"}, format="json")
    assert r.status_code == 200 and r.json() == {"name": "TOOL_TOKEN", "version": 1, "value": SECRET}
    assert r["Cache-Control"] == "no-store"
    event = AuditEvent.objects.filter(action="secret.reveal").get()
    assert event.reason == "incident 42" and event.extra["version"] == 1 and SECRET not in str(event.extra)
    assert client_for(world.admin).post(url("env-vars/TOOL_TOKEN/versions/7/reveal/"), {"reason": "x"},
                                        format="json").status_code == 404


def test_versions_are_trimmed_to_the_setting(world, settings):
    settings.PLATOS_SECRET_VERSIONS_KEPT = 3
    var = _var(world, value="value-1")
    for i in range(2, 7):
        var = env_var_update(variable=var, value=f"value-{i}", actor=world.admin)
    assert var.version == 6
    assert list(var.versions.values_list("version", flat=True)) == [5, 4, 3]
    assert [v.value for v in var.versions.all()] == ["value-5", "value-4", "value-3"]
    # A kind-only change keeps the value, so nothing is archived.
    env_var_update(variable=var, kind="skill", actor=world.admin)
    assert var.versions.count() == 3


def test_destroy_wipes_the_value_and_keeps_the_metadata(world, raw_column):
    var = _var(world)
    env_var_update(variable=var, value="next-value-4444", actor=world.admin)
    admin = client_for(world.admin)
    assert client_for(world.member).post(url("env-vars/TOOL_TOKEN/versions/1/destroy/")).status_code == 403
    r = admin.post(url("env-vars/TOOL_TOKEN/versions/1/destroy/"))
    assert r.status_code == 200 and r.json()["destroyed"] and r.json()["version"] == 1
    row = EnvironmentVariableVersion.objects.get(variable=var, version=1)
    assert raw_column(EnvironmentVariableVersion, "value", row.pk) is None and row.destroyed_at is not None
    r = admin.post(url("env-vars/TOOL_TOKEN/versions/1/reveal/"), {"reason": "need it"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "missing" and r["Cache-Control"] == "no-store"
    r = admin.post(url("env-vars/TOOL_TOKEN/rollback/"), {"version": 1}, format="json")
    assert r.status_code == 400 and "destroyed" in r.content.decode()
    assert AuditEvent.objects.filter(action="secret.version.destroy", success=True).count() == 1
    assert AuditEvent.objects.filter(action="secret.reveal", success=False).count() == 1


def test_provider_key_rotate_archives_revoke_destroys_history_and_no_reveal(world):
    key = provider_key_create(environment=world.prod, provider="openai", label="main", secret=OPENAI_KEY,
                              actor=world.admin)
    provider_key_rotate(key=key, secret=OPENAI_KEY_2, actor=world.admin)
    var = EnvironmentVariable.objects.get(name=key.env_var_name)
    assert [v.value for v in var.versions.all()] == [OPENAI_KEY]
    with pytest.raises(Exception, match="provider key"):
        env_var_version_reveal(variable=var, version=1, reason="x", actor=world.admin)
    with pytest.raises(Exception, match="provider key"):
        env_var_rollback(variable=var, version=1, actor=world.admin)
    provider_key_revoke(key=key, actor=world.admin)
    row = var.versions.get()
    assert row.value is None and row.destroyed_at is not None


def test_version_rows_are_rotated_and_counted_by_key_status(world, use_keys):  # noqa: F811
    use_keys(enc=E1, canary=True)
    var = _var(world)
    var = env_var_update(variable=var, value="v2-value", actor=world.admin)
    env_var_update(variable=var, value="v3-value", actor=world.admin)
    label = f"{EnvironmentVariableVersion._meta.db_table}.value"
    ring = next(r for r in key_status()["keyrings"] if r["keyring"] == "encryption")
    assert next(c for c in ring["columns"] if c["column"] == label)["rows"] == {kid(E1): 2}
    use_keys(enc=E1, enc_next=E2)
    code, out, _ = run("rotate_encryption_key")
    assert code == 0 and label in out
    ring = next(r for r in key_status()["keyrings"] if r["keyring"] == "encryption")
    assert next(c for c in ring["columns"] if c["column"] == label)["rows"] == {kid(E2): 2}
    rows = EnvironmentVariableVersion.objects.order_by("version")
    assert [r.value for r in rows] == [SECRET, "v2-value"]
