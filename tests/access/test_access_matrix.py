"""The access matrix: every operation of the OpenAPI schema × every kind of caller.

Callers authenticate as in production (``Authorization: Bearer plt_…``, no
force_authenticate), so the service accounts' refusal by the token authentication is
part of what is tested. Project A is ``acme`` (env1 ``production``, env2 ``staging``),
project B ``beta``. Every URL points into acme/production, so:

  anon      no credential                      viewer  viewer of A
  member    member of A                        admin   admin of A
  b_member  member of B (an outsider to A)     sa_env1 service account of A granted env1
  sa_env2   service account of A granted env2  auditor staff with view_message_plaintext
  root      superuser

A token can only be revoked by its owner (root gets 404 for admin's token), enabling an
active key is a no-op 200, and entity endpoints answer 403 to a valid API token (an
authenticated identity, a service account's included, that is not an entity) and 401
to no credential (tests/tokens, tests/entities).
Each cell runs in a savepoint that is rolled back, so every caller meets the same state
(a DELETE by one does not turn the next one's answer into 404). A new operation
in the schema fails ``test_the_matrix_covers_every_operation`` until it has a row here.
"""

import json

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from rest_framework.test import APIClient

from messages_app import services as messages
from secrets_app.services import env_var_update
from secrets_app.services.service_accounts import service_account_create
from secrets_app.tokens.services import token_create
from tests.factories import (
    ConnectedEntityFactory,
    EnvironmentVariableFactory,
    ProjectMembershipFactory,
    ProviderKeyFactory,
    StaffUserFactory,
    ThreadFactory,
    UserFactory,
)

WHO = ("anon", "viewer", "member", "admin", "b_member", "sa_env1", "sa_env2", "auditor", "root")
S = "/agent/v1/projects/acme/environments/production/"

# operation id: (method, path, body) -- {placeholders} are filled from the fixture's objects.
OPERATIONS = {
    "auth_tokens_list": ("GET", "/agent/v1/auth/tokens/", None),
    "auth_tokens_create": ("POST", "/agent/v1/auth/tokens/", {"name": "x"}),
    "auth_tokens_destroy": ("DELETE", "/agent/v1/auth/tokens/{admin_token_id}/", None),
    "entity_heartbeat_create": ("POST", "/agent/v1/entity/heartbeat", None),
    "entity_whoami_retrieve": ("GET", "/agent/v1/entity/whoami", None),
    "messages_edit": ("POST", "/agent/v1/messages/{message_id}/edit/", {"content": "again"}),
    "monitoring_admin_audit_list": ("GET", "/agent/v1/monitoring/admin-audit", None),
    "projects_environments_entities_list": ("GET", S + "entities/", None),
    "projects_environments_entities_create": ("POST", S + "entities/", {
        "slug": "new-crm", "display_name": "New", "base_url": "https://crm.example.com"}),
    "projects_environments_entities_retrieve": ("GET", S + "entities/crm/", None),
    "projects_environments_entities_partial_update": ("PATCH", S + "entities/crm/", {"display_name": "CRM 2"}),
    "projects_environments_entities_disable_create": ("POST", S + "entities/crm/disable/", None),
    "projects_environments_entities_regenerate_secret_create": ("POST", S + "entities/crm/regenerate-secret/",
                                                                {"grace_seconds": 0}),
    "env_vars_list": ("GET", S + "env-vars/", None),
    "env_vars_create": ("POST", S + "env-vars/", {"name": "NEW_VAR", "value": "v-new"}),
    "env_vars_retrieve": ("GET", S + "env-vars/DB_URL/", None),
    "env_vars_update": ("PATCH", S + "env-vars/DB_URL/", {"value": "v-changed"}),
    "env_vars_destroy": ("DELETE", S + "env-vars/DB_URL/", None),
    "env_vars_reveal": ("POST", S + "env-vars/DB_URL/reveal/", {"reason": "matrix"}),
    "env_var_versions_list": ("GET", S + "env-vars/DB_URL/versions/", None),
    "env_var_versions_reveal": ("POST", S + "env-vars/DB_URL/versions/1/reveal/", {"reason": "matrix"}),
    "env_var_versions_destroy": ("POST", S + "env-vars/DB_URL/versions/1/destroy/", None),
    "env_vars_rollback": ("POST", S + "env-vars/DB_URL/rollback/", {"version": 1}),
    "env_import": ("POST", S + "env-import/", {"dotenv": "MATRIX_IMPORTED=1\n"}),
    "env_export": ("POST", S + "env-export/", {"reason": "matrix"}),
    "provider_keys_list": ("GET", S + "provider-keys/", None),
    "provider_keys_create": ("POST", S + "provider-keys/", {
        "provider": "openai", "label": "second", "secret": "sk-proj-matrixsecond0123456789abcdefgh"}),
    "provider_keys_retrieve": ("GET", S + "provider-keys/{key_id}/", None),
    "provider_keys_destroy": ("DELETE", S + "provider-keys/{key_id}/", None),
    "provider_keys_disable": ("POST", S + "provider-keys/{key_id}/disable/", None),
    "provider_keys_enable": ("POST", S + "provider-keys/{key_id}/enable/", None),
    "provider_keys_revoke": ("POST", S + "provider-keys/{key_id}/revoke/", None),
    "provider_keys_rotate": ("POST", S + "provider-keys/{key_id}/rotate/",
                             {"secret": "sk-proj-matrixrotated0123456789abcdefg"}),
    "provider_keys_set_default": ("POST", S + "provider-keys/{key_id}/set-default/", None),
    "provider_keys_test": ("POST", S + "provider-keys/{key_id}/test/", None),
    "skills_readiness_list": ("GET", S + "skills/", None),
    "service_accounts_list": ("GET", "/agent/v1/projects/acme/service-accounts/", None),
    "service_accounts_create": ("POST", "/agent/v1/projects/acme/service-accounts/",
                                {"name": "new-worker", "environments": ["production"]}),
    "service_accounts_disable": ("POST", "/agent/v1/projects/acme/service-accounts/{sa1_id}/disable/", None),
    "service_accounts_tokens_create": ("POST", "/agent/v1/projects/acme/service-accounts/{sa1_id}/tokens/", {}),
    "runtime_env": ("GET", "/agent/v1/runtime/environments/production/env", None),
    "runtime_env_var": ("GET", "/agent/v1/runtime/environments/production/env/DB_URL", None),
    "safety_events_list": ("GET", "/agent/v1/safety-events/", None),
    "safety_events_create": ("POST", "/agent/v1/safety-events/", {
        "thread": "{thread_id}", "detector": "pii", "action": "flag", "severity": "low"}),
    "threads_list": ("GET", "/agent/v1/threads/", None),
    "threads_create": ("POST", "/agent/v1/threads/", {"title": "t", "project": "acme"}),
    "threads_retrieve": ("GET", "/agent/v1/threads/{thread_id}/", None),
    "threads_fork": ("POST", "/agent/v1/threads/{thread_id}/fork/", {"message_id": "{message_id}"}),
    "threads_messages_list": ("GET", "/agent/v1/threads/{thread_id}/messages/", None),
    "threads_messages_create": ("POST", "/agent/v1/threads/{thread_id}/messages/", {"role": "user", "content": "hi"}),
}

# The expected status of every cell. Columns in the order of WHO.
MATRIX = """
operation                                               anon viewer member admin b_member sa_env1 sa_env2 auditor root
auth_tokens_list                                         401  200    200    200   200      403     403     200     200
auth_tokens_create                                       401  201    201    201   201      403     403     201     201
auth_tokens_destroy                                      401  404    404    204   404      403     403     404     404
entity_heartbeat_create                                  401  403    403    403   403      403     403     403     403
entity_whoami_retrieve                                   401  403    403    403   403      403     403     403     403
messages_edit                                            401  403    201    201   404      403     403     403     201
monitoring_admin_audit_list                              401  403    403    200   403      403     403     403     200
projects_environments_entities_list                      401  200    200    200   404      403     403     404     200
projects_environments_entities_create                    401  403    403    201   404      403     403     404     201
projects_environments_entities_retrieve                  401  200    200    200   404      403     403     404     200
projects_environments_entities_partial_update            401  403    403    200   404      403     403     404     200
projects_environments_entities_disable_create            401  403    403    200   404      403     403     404     200
projects_environments_entities_regenerate_secret_create  401  403    403    200   404      403     403     404     200
env_vars_list                                            401  200    200    200   404      403     403     404     200
env_vars_create                                          401  403    403    201   404      403     403     404     201
env_vars_retrieve                                        401  200    200    200   404      403     403     404     200
env_vars_update                                          401  403    403    200   404      403     403     404     200
env_vars_destroy                                         401  403    403    204   404      403     403     404     204
env_vars_reveal                                          401  403    403    200   404      403     403     404     200
env_var_versions_list                                    401  200    200    200   404      403     403     404     200
env_var_versions_reveal                                  401  403    403    200   404      403     403     404     200
env_var_versions_destroy                                 401  403    403    200   404      403     403     404     200
env_vars_rollback                                        401  403    403    200   404      403     403     404     200
env_import                                               401  403    403    200   404      403     403     404     200
env_export                                               401  403    403    200   404      403     403     404     200
provider_keys_list                                       401  200    200    200   404      403     403     404     200
provider_keys_create                                     401  403    403    201   404      403     403     404     201
provider_keys_retrieve                                   401  200    200    200   404      403     403     404     200
provider_keys_destroy                                    401  403    403    204   404      403     403     404     204
provider_keys_disable                                    401  403    403    200   404      403     403     404     200
provider_keys_enable                                     401  403    403    200   404      403     403     404     200
provider_keys_revoke                                     401  403    403    200   404      403     403     404     200
provider_keys_rotate                                     401  403    403    200   404      403     403     404     200
provider_keys_set_default                                401  403    403    200   404      403     403     404     200
provider_keys_test                                       401  200    200    200   404      403     403     404     200
skills_readiness_list                                    401  200    200    200   404      403     403     404     200
service_accounts_list                                    401  403    403    200   404      403     403     404     200
service_accounts_create                                  401  403    403    201   404      403     403     404     201
service_accounts_disable                                 401  403    403    200   404      403     403     404     200
service_accounts_tokens_create                           401  403    403    201   404      403     403     404     201
runtime_env                                              401  403    403    403   403      200     404     403     403
runtime_env_var                                          401  403    403    403   403      200     404     403     403
safety_events_list                                       401  200    200    200   200      403     403     200     200
safety_events_create                                     401  403    201    201   400      403     403     403     201
threads_list                                             401  200    200    200   200      403     403     200     200
threads_create                                           401  403    201    201   400      403     403     400     201
threads_retrieve                                         401  200    200    200   404      403     403     200     200
threads_fork                                             401  403    201    201   404      403     403     403     201
threads_messages_list                                    401  200    200    200   404      403     403     200     200
threads_messages_create                                  401  403    201    201   404      403     403     403     201
"""


def _expected() -> dict[str, dict[str, int]]:
    lines = [line.split() for line in MATRIX.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert tuple(header[1:]) == WHO
    return {row[0]: dict(zip(WHO, map(int, row[1:]), strict=True)) for row in rows}


def _schema_operations(client) -> set[str]:
    schema = client.get("/agent/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    return {op["operationId"] for ops in schema["paths"].values() for op in ops.values()}


@pytest.fixture
def callers(world):
    """A token per caller, and the ids the URLs need."""
    w = world
    viewer = UserFactory(username="vera")
    ProjectMembershipFactory(user=viewer, project=w.acme, role="viewer")
    b_member = UserFactory(username="bob")
    ProjectMembershipFactory(user=b_member, project=w.beta, role="member")
    auditor = StaffUserFactory(username="audrey")
    auditor.user_permissions.add(Permission.objects.get(codename="view_message_plaintext"))
    sa1, _, sa1_token = service_account_create(project=w.acme, name="env1", environments=["production"],
                                               actor=w.admin)
    _, _, sa2_token = service_account_create(project=w.acme, name="env2", environments=["staging"], actor=w.admin)
    db_url = EnvironmentVariableFactory(environment=w.prod, name="DB_URL", value="matrix-db-url")
    env_var_update(variable=db_url, actor=w.admin, value="matrix-db-url-2")  # keeps version 1
    key = ProviderKeyFactory(environment=w.prod, label="main", secret="sk-proj-matrixmain0123456789abcdefghij")
    ConnectedEntityFactory.create_with_secret(environment=w.prod, actor=w.admin, slug="crm")
    thread = ThreadFactory(title="acme chat", project=w.acme, environment=w.prod)
    message = messages.message_create(thread=thread, role="user", content="hello")
    tokens = {"anon": None, "sa_env1": sa1_token, "sa_env2": sa2_token}
    admin_token = None
    for who, user in (("viewer", viewer), ("member", w.member), ("admin", w.admin), ("b_member", b_member),
                      ("auditor", auditor), ("root", w.root)):
        row, tokens[who] = token_create(user=user, name="matrix")
        if who == "admin":
            admin_token = row
    ids = {"admin_token_id": admin_token.pk, "message_id": message.pk, "key_id": key.pk, "sa1_id": sa1.pk,
           "thread_id": thread.pk}
    return tokens, ids


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _status(token, method, path, body) -> int:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with transaction.atomic():
        extra = {} if body is None else {"data": json.dumps(body), "content_type": "application/json"}
        response = client.generic(method, path, **extra)
        transaction.set_rollback(True)
    return response.status_code


@pytest.mark.django_db
def test_the_matrix_covers_every_operation(client):
    assert set(_expected()) == set(OPERATIONS) == _schema_operations(client)


@pytest.mark.django_db
def test_every_cell_of_the_access_matrix(callers):
    tokens, ids = callers
    expected = _expected()
    got = {}
    for operation, (method, path, body) in OPERATIONS.items():
        path, body = _fill(path, ids), _fill(body, ids)
        got[operation] = {who: _status(tokens[who], method, path, body) for who in WHO}
    wrong = [f"{op} × {who}: expected {expected[op][who]}, got {got[op][who]}"
             for op in OPERATIONS for who in WHO if got[op][who] != expected[op][who]]
    assert not wrong, "\n".join(wrong)
