"""A secret-store envelope copied by SQL into another row of its column is refused there.

Row-bound envelopes (pv2): the env-var value is bound to (environment, name, version),
an archived version's to (variable, version). Moved, it reads as the undecryptable
placeholder, a reveal answers 409, and saving the row writes the stored token back.
Runs on SQLite and on PostgreSQL (whichever DATABASE_URL names).
"""

import pytest
from django.db import connection

from platos.core.fields import Undecryptable
from secrets_app.models import EnvironmentVariable, EnvironmentVariableVersion
from secrets_app.services import env_var_create, env_var_update

from .conftest import SECRET, client_for, url

pytestmark = pytest.mark.django_db
OTHER = "zq-other-secret-value-123456"


def raw(model, pk):
    table, qn = model._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(f"SELECT value FROM {qn(table)} WHERE id = %s", [pk])  # noqa: S608
        return cur.fetchone()[0]


def copy_value(model, source_pk, target_pk):
    token = raw(model, source_pk)
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {connection.ops.quote_name(model._meta.db_table)} SET value = %s WHERE id = %s",  # noqa: S608
                    [token, target_pk])
    assert raw(model, target_pk) == token  # the UPDATE hit the row
    return token


def reveal(world, name, env="production", project="acme"):
    return client_for(world.root).post(url(f"env-vars/{name}/reveal/", project=project, env=env),
                                       {"reason": "row-bound test"}, format="json")


@pytest.mark.parametrize("target_env", ["staging", "beta_prod"])
def test_a_value_copied_into_another_environments_variable_is_refused(world, target_env):
    source = env_var_create(environment=world.prod, name="TOOL_TOKEN", value=SECRET, actor=world.admin)
    env = getattr(world, target_env)
    target = env_var_create(environment=env, name="TOOL_TOKEN", value=OTHER, actor=world.admin)
    token = copy_value(EnvironmentVariable, source.pk, target.pk)
    moved = EnvironmentVariable.objects.get(pk=target.pk)
    assert isinstance(moved.value, Undecryptable) and "wrong row" in moved.value.reason
    r = reveal(world, "TOOL_TOKEN", env=env.slug, project=env.project.slug)
    assert r.status_code == 409 and r.json()["code"] == "decryption_failed", r.content
    assert SECRET not in r.content.decode() and token not in r.content.decode()
    assert reveal(world, "TOOL_TOKEN").json()["value"] == SECRET  # the original row still opens
    moved.kind = "tool"
    moved.save()
    assert raw(EnvironmentVariable, target.pk) == token  # written back unchanged: nothing lost


def test_a_value_copied_into_another_variable_of_the_same_environment_is_refused(world):
    source = env_var_create(environment=world.prod, name="TOOL_TOKEN", value=SECRET, actor=world.admin)
    target = env_var_create(environment=world.prod, name="OTHER_TOKEN", value=OTHER, actor=world.admin)
    copy_value(EnvironmentVariable, source.pk, target.pk)
    assert reveal(world, "OTHER_TOKEN").status_code == 409
    listed = client_for(world.admin).get(url("env-vars/"))
    assert listed.status_code == 200 and {v["name"] for v in listed.json()["results"]} == {"TOOL_TOKEN", "OTHER_TOKEN"}


def test_an_old_version_of_the_same_variable_is_refused_in_the_current_row(world):
    var = env_var_create(environment=world.prod, name="TOOL_TOKEN", value=SECRET, actor=world.admin)
    old_token = raw(EnvironmentVariable, var.pk)
    env_var_update(variable=var, value=OTHER, actor=world.admin)
    with connection.cursor() as cur:  # the version-1 envelope put back into the row, now at version 2
        cur.execute("UPDATE secrets_app_environmentvariable SET value = %s WHERE id = %s", [old_token, var.pk])
    assert isinstance(EnvironmentVariable.objects.get(pk=var.pk).value, Undecryptable)
    assert reveal(world, "TOOL_TOKEN").status_code == 409


def test_an_archived_version_copied_into_another_version_row_is_refused(world):
    var = env_var_create(environment=world.prod, name="TOOL_TOKEN", value="v1-value-000001", actor=world.admin)
    env_var_update(variable=var, value="v2-value-000002", actor=world.admin)
    env_var_update(variable=var, value="v3-value-000003", actor=world.admin)
    v1, v2 = (EnvironmentVariableVersion.objects.get(variable=var, version=n) for n in (1, 2))
    assert (v1.value, v2.value) == ("v1-value-000001", "v2-value-000002")
    copy_value(EnvironmentVariableVersion, v1.pk, v2.pk)
    assert isinstance(EnvironmentVariableVersion.objects.get(pk=v2.pk).value, Undecryptable)
    admin = client_for(world.admin)
    r = admin.post(url("env-vars/TOOL_TOKEN/versions/2/reveal/"), {"reason": "row-bound"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "decryption_failed", r.content
    r = admin.post(url("env-vars/TOOL_TOKEN/versions/1/reveal/"), {"reason": "row-bound"}, format="json")
    assert r.status_code == 200 and r.json()["value"] == "v1-value-000001"
    # An archived envelope is not accepted as the variable's value either (another column).
    copy_into_var = raw(EnvironmentVariableVersion, v1.pk)
    with connection.cursor() as cur:
        cur.execute("UPDATE secrets_app_environmentvariable SET value = %s WHERE id = %s", [copy_into_var, var.pk])
    assert reveal(world, "TOOL_TOKEN").status_code == 409
