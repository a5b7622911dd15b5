"""Machine identities: project admins manage service accounts; a service account reads
its granted environments through the runtime API and nothing else."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from audit.models import AuditEvent
from secrets_app.models import ServiceAccount
from secrets_app.services import provider_key_disable
from secrets_app.services.service_accounts import service_account_create
from tests.factories import EnvironmentVariableFactory, ProviderKeyFactory
from tests.secrets_app.conftest import client_for

pytestmark = pytest.mark.django_db
ACCOUNTS = "/agent/v1/projects/acme/service-accounts/"
RUNTIME = "/agent/v1/runtime/environments/{env}/env"


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def make_account(world, *, name="worker", envs=("production",)):
    account, _, token = service_account_create(project=world.acme, name=name, environments=list(envs),
                                               actor=world.admin)
    return account, token


def test_admin_creates_an_account_and_sees_its_token_once(world):
    admin = client_for(world.admin)
    resp = admin.post(ACCOUNTS, {"name": "worker", "environments": ["production"]}, format="json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["name"] == "worker" and body["environments"] == ["production"]
    assert body["token"].startswith("plt_")
    listed = admin.get(ACCOUNTS).json()["results"]
    assert [a["name"] for a in listed] == ["worker"] and "token" not in listed[0]
    account = ServiceAccount.objects.get(pk=body["id"])
    assert not account.user.has_usable_password() and not account.user.is_staff
    row = AuditEvent.objects.get(action=AuditEvent.Action.SERVICE_ACCOUNT_CREATE)
    assert row.actor == "ada" and row.subject_type == "service_account" and row.extra["project_id"] == world.acme.pk
    assert AuditEvent.objects.filter(action=AuditEvent.Action.TOKEN_CREATE, actor="ada").count() == 1


def test_only_project_admins_manage_accounts(world):
    body = {"name": "w", "environments": ["production"]}
    assert client_for(world.member).post(ACCOUNTS, body, format="json").status_code == 403
    assert client_for(world.member).get(ACCOUNTS).status_code == 403
    assert client_for(world.outsider).get(ACCOUNTS).status_code == 404
    assert APIClient().get(ACCOUNTS).status_code in (401, 403)
    resp = client_for(world.admin).post(ACCOUNTS, {"name": "w", "environments": ["production", "nope"]},
                                        format="json")
    assert resp.status_code == 400 and "environments" in resp.json()
    # An environment of another project cannot be granted.
    resp = client_for(world.outsider).post("/agent/v1/projects/beta/service-accounts/",
                                           {"name": "w", "environments": ["staging"]}, format="json")
    assert resp.status_code == 400


def test_runtime_serves_every_variable_with_one_audit_row_each(world):
    EnvironmentVariableFactory(environment=world.prod, name="DB_URL", value="postgres://secret-db")
    EnvironmentVariableFactory(environment=world.prod, name="FLAG", value="on")
    key = ProviderKeyFactory(environment=world.prod, label="old", secret="sk-proj-disabledkey0123456789abcdef")
    provider_key_disable(key=key, actor="system:test")
    _, token = make_account(world)
    before = AuditEvent.objects.filter(action=AuditEvent.Action.SECRET_READ).count()
    resp = bearer(token).get(RUNTIME.format(env="production"), HTTP_X_PLATOS_PURPOSE="boot")
    assert resp.status_code == 200
    assert resp.json() == {"variables": {"DB_URL": "postgres://secret-db", "FLAG": "on"}}
    assert resp["Cache-Control"] == "no-store"
    rows = AuditEvent.objects.filter(action=AuditEvent.Action.SECRET_READ).order_by("id")[before:]
    assert [(r.key, r.actor, r.success, r.extra["purpose"]) for r in rows] == [
        ("DB_URL", "service_account:acme/worker", True, "boot"),
        ("FLAG", "service_account:acme/worker", True, "boot")]


def test_runtime_single_variable_and_failed_reads(world):
    EnvironmentVariableFactory(environment=world.prod, name="DB_URL", value="postgres://secret-db")
    key = ProviderKeyFactory(environment=world.prod, label="old", secret="sk-proj-disabledkey0123456789abcdef")
    provider_key_disable(key=key, actor="system:test")
    _, token = make_account(world)
    client = bearer(token)
    resp = client.get(RUNTIME.format(env="production") + "/DB_URL")
    assert resp.status_code == 200 and resp["Cache-Control"] == "no-store"
    assert resp.json() == {"name": "DB_URL", "value": "postgres://secret-db", "version": 1}
    assert client.get(RUNTIME.format(env="production") + "/NOPE").status_code == 404
    assert client.get(RUNTIME.format(env="production") + "/" + key.env_var_name).status_code == 409
    assert client.get(RUNTIME.format(env="production") + "/provider_key:old").status_code == 404
    failed = AuditEvent.objects.filter(action=AuditEvent.Action.SECRET_READ, success=False,
                                       actor="service_account:acme/worker")
    assert sorted((r.key, r.reason) for r in failed) == [
        ("NOPE", "missing"), (key.env_var_name, "disabled"), ("provider_key:old", "missing")]


def test_environments_not_granted_are_404(world):
    EnvironmentVariableFactory(environment=world.staging, name="S", value="x")
    _, token = make_account(world)
    client = bearer(token)
    assert client.get(RUNTIME.format(env="staging")).status_code == 404
    assert client.get(RUNTIME.format(env="staging") + "/S").status_code == 404
    assert client.get(RUNTIME.format(env="nope")).status_code == 404


def test_a_service_account_is_refused_on_human_endpoints_and_a_human_on_the_runtime(world):
    from secrets_app.tokens.services import token_create

    _, token = make_account(world)
    client = bearer(token)
    for path in ["/agent/v1/projects/acme/environments/production/env-vars/", ACCOUNTS, "/agent/v1/auth/tokens/",
                 "/agent/v1/threads/", "/agent/v1/monitoring/admin-audit"]:
        assert client.get(path).status_code == 403, path
    _, human = token_create(user=world.admin, name="laptop")
    assert bearer(human).get(RUNTIME.format(env="production")).status_code == 403
    assert APIClient().get(RUNTIME.format(env="production")).status_code == 401


def test_disable_stops_every_token_and_further_tokens_work_until_then(world):
    account, first = make_account(world)
    admin = client_for(world.admin)
    resp = admin.post(f"{ACCOUNTS}{account.pk}/tokens/", {"name": "second"}, format="json")
    assert resp.status_code == 201 and resp.json()["token"].startswith("plt_")
    second = resp.json()["token"]
    assert bearer(second).get(RUNTIME.format(env="production")).status_code == 200
    assert client_for(world.member).post(f"{ACCOUNTS}{account.pk}/disable/").status_code == 403
    assert admin.post(f"{ACCOUNTS}{account.pk}/disable/").json()["is_active"] is False
    for token in (first, second):
        assert bearer(token).get(RUNTIME.format(env="production")).status_code == 401
    assert admin.post(f"{ACCOUNTS}{account.pk}/tokens/", {}, format="json").status_code == 400
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SERVICE_ACCOUNT_DISABLE, actor="ada").count() == 1


@override_settings(PLATOS_THROTTLE_RATES={"auth_failures_ip": "20/min", "auth_failures_entity": "20/min",
                                          "reveal": "10/min", "runtime_read": "2/min"})
def test_runtime_reads_are_throttled_per_account(world):
    _, token = make_account(world)
    _, other = make_account(world, name="other")
    client = bearer(token)
    assert [client.get(RUNTIME.format(env="production")).status_code for _ in range(3)] == [200, 200, 429]
    assert bearer(other).get(RUNTIME.format(env="production")).status_code == 200
    assert AuditEvent.objects.filter(action=AuditEvent.Action.AUTH_THROTTLED).count() == 1


def test_account_rows_are_scoped_to_the_project_so_its_admins_read_them(world):
    make_account(world)
    row = AuditEvent.objects.get(action=AuditEvent.Action.SERVICE_ACCOUNT_CREATE)
    assert (row.scope, row.project, row.project_id) == ("acme", "acme", world.acme.pk)
    listed = client_for(world.admin).get("/agent/v1/monitoring/admin-audit", {"action": "service_account.create"})
    assert listed.status_code == 200, listed.content
    assert [r["project_id"] for r in listed.json()["results"]] == [world.acme.pk]
    # beta's admin does not see acme's account rows.
    other = client_for(world.outsider).get("/agent/v1/monitoring/admin-audit", {"action": "service_account.create"})
    assert other.status_code == 200 and other.json()["results"] == []
