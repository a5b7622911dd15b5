import pytest

from audit.models import AuditEvent
from secrets_app.models import EnvironmentVariable, ProviderKey, Skill
from secrets_app.services import env_var_create, provider_key_create, provider_key_revoke

from .conftest import ANTHROPIC_KEY, OPENAI_KEY, OPENAI_KEY_2, SECRET, client_for, url

pytestmark = pytest.mark.django_db


def test_env_var_create_list_update_delete(world):
    admin = client_for(world.admin)
    r = admin.post(url("env-vars/"), {"name": "TOOL_TOKEN", "value": SECRET, "kind": "tool"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["name"] == "TOOL_TOKEN" and r.json()["is_set"] and "value" not in r.json()
    assert SECRET not in r.content.decode()
    r = admin.post(url("env-vars/"), {"name": "TOOL_TOKEN", "value": "x" * 10}, format="json")
    assert r.status_code == 400
    r = admin.post(url("env-vars/"), {"name": "lower", "value": "x"}, format="json")
    assert r.status_code == 400
    r = client_for(world.member).get(url("env-vars/"))
    assert r.status_code == 200 and set(r.json()) == {"results", "next"}
    assert [v["name"] for v in r.json()["results"]] == ["TOOL_TOKEN"] and SECRET not in r.content.decode()
    r = admin.patch(url("env-vars/TOOL_TOKEN/"), {"value": "new-secret-value-0001"}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 2
    assert EnvironmentVariable.objects.get(name="TOOL_TOKEN").value == "new-secret-value-0001"
    assert admin.delete(url("env-vars/TOOL_TOKEN/")).status_code == 204
    assert not EnvironmentVariable.objects.exists()
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "secret.write", "secret.write", "secret.delete"]


def test_list_query_count_is_constant(world, django_assert_num_queries):
    for i in range(5):
        env_var_create(environment=world.prod, name=f"VAR_{i}", value=f"value-{i}-abcdef", actor=world.admin)
    client = client_for(world.member)
    with django_assert_num_queries(2):  # environment lookup + one page of variables
        r = client.get(url("env-vars/") + "?limit=3")
    assert len(r.json()["results"]) == 3 and r.json()["next"]
    assert len(client.get(r.json()["next"]).json()["results"]) == 2


def test_member_cannot_write_or_reveal(world):
    env_var_create(environment=world.prod, name="TOOL_TOKEN", value=SECRET, actor=world.admin)
    member = client_for(world.member)
    assert member.post(url("env-vars/"), {"name": "X", "value": "v"}, format="json").status_code == 403
    assert member.patch(url("env-vars/TOOL_TOKEN/"), {"value": "v"}, format="json").status_code == 403
    assert member.delete(url("env-vars/TOOL_TOKEN/")).status_code == 403
    r = member.post(url("env-vars/TOOL_TOKEN/reveal/"), {"reason": "curious"}, format="json")
    assert r.status_code == 403 and SECRET not in r.content.decode()


def test_member_of_project_a_gets_404_for_project_b(world):
    env_var_create(environment=world.beta_prod, name="BETA_TOKEN", value=SECRET, actor=world.outsider)
    key = provider_key_create(environment=world.beta_prod, provider="openai", label="b", secret=OPENAI_KEY,
                              actor=world.outsider)
    for user in (world.member, world.admin):
        client = client_for(user)
        beta = {"project": "beta"}
        responses = [
            client.get(url("env-vars/", **beta)),
            client.get(url("env-vars/BETA_TOKEN/", **beta)),
            client.post(url("env-vars/", **beta), {"name": "X", "value": "v"}, format="json"),
            client.patch(url("env-vars/BETA_TOKEN/", **beta), {"value": "v"}, format="json"),
            client.delete(url("env-vars/BETA_TOKEN/", **beta)),
            client.post(url("env-vars/BETA_TOKEN/reveal/", **beta), {"reason": "x"}, format="json"),
            client.get(url("provider-keys/", **beta)),
            client.get(url(f"provider-keys/{key.pk}/", **beta)),
            client.post(url(f"provider-keys/{key.pk}/rotate/", **beta), {"secret": OPENAI_KEY_2}, format="json"),
            client.post(url(f"provider-keys/{key.pk}/revoke/", **beta)),
            client.post(url(f"provider-keys/{key.pk}/test/", **beta)),
            client.get(url("skills/", **beta)),
            # The key id exists, but in another project: addressing it via acme is a 404 too.
            client.get(url(f"provider-keys/{key.pk}/")),
        ]
        assert [r.status_code for r in responses] == [404] * len(responses)
        assert all(SECRET not in r.content.decode() for r in responses)
    assert EnvironmentVariable.objects.get(name="BETA_TOKEN").value == SECRET
    assert ProviderKey.objects.get(pk=key.pk).status == "active"


def test_unauthenticated_is_refused(world):
    from rest_framework.test import APIClient

    assert APIClient().get(url("env-vars/")).status_code in (401, 403)


def test_reveal_is_admin_only_needs_a_reason_is_audited_and_not_cached(world):
    env_var_create(environment=world.prod, name="TOOL_TOKEN", value=SECRET, actor=world.admin)
    admin = client_for(world.admin)
    r = admin.post(url("env-vars/TOOL_TOKEN/reveal/"), {}, format="json")
    assert r.status_code == 400
    r = admin.post(url("env-vars/TOOL_TOKEN/reveal/"), {"reason": "   "}, format="json")
    assert r.status_code == 400
    assert admin.get(url("env-vars/TOOL_TOKEN/reveal/")).status_code == 405
    r = admin.post(url("env-vars/TOOL_TOKEN/reveal/"), {"reason": "debug INC-42"}, format="json")
    assert r.status_code == 200 and r.json() == {"name": "TOOL_TOKEN", "value": SECRET}
    assert r["Cache-Control"] == "no-store"
    [row] = AuditEvent.objects.filter(action="secret.reveal")
    assert (row.actor, row.key, row.scope, row.success, row.reason) == (
        "ada", "TOOL_TOKEN", "acme/production", True, "debug INC-42")


def test_provider_key_secrets_are_not_revealed_or_edited_as_env_vars(world):
    key = provider_key_create(environment=world.prod, provider="openai", label="main", secret=OPENAI_KEY,
                              actor=world.admin)
    admin = client_for(world.admin)
    r = admin.post(url(f"env-vars/{key.env_var_name}/reveal/"), {"reason": "x"}, format="json")
    assert r.status_code == 400 and OPENAI_KEY not in r.content.decode()
    assert admin.patch(url(f"env-vars/{key.env_var_name}/"), {"value": "x"}, format="json").status_code == 400
    assert admin.delete(url(f"env-vars/{key.env_var_name}/")).status_code == 400


def test_reveal_of_a_revoked_value_is_a_409_and_audited(world):
    env_var_create(environment=world.prod, name="TOOL_TOKEN", value=SECRET, actor=world.admin)
    EnvironmentVariable.objects.filter(name="TOOL_TOKEN").update(value=None)
    r = client_for(world.admin).post(url("env-vars/TOOL_TOKEN/reveal/"), {"reason": "x"}, format="json")
    assert r.status_code == 409 and r["Cache-Control"] == "no-store"
    assert AuditEvent.objects.get(action="secret.reveal").success is False


def test_provider_key_endpoints(world):
    admin = client_for(world.admin)
    r = admin.post(url("provider-keys/"), {"provider": "openai", "label": "main", "secret": OPENAI_KEY}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["is_default"] and body["status"] == "active" and "secret" not in body
    assert OPENAI_KEY not in r.content.decode()
    kid = body["id"]
    r = admin.post(url("provider-keys/"), {"provider": "openai", "label": "bad", "secret": ANTHROPIC_KEY},
                   format="json")
    assert r.status_code == 400 and "Anthropic" in r.content.decode() and ANTHROPIC_KEY not in r.content.decode()
    r = admin.post(url(f"provider-keys/{kid}/test/"))
    assert r.status_code == 200 and r.json() == {"exists": True, "decryptable": True}
    assert OPENAI_KEY not in r.content.decode()
    r = admin.post(url(f"provider-keys/{kid}/rotate/"), {"secret": OPENAI_KEY_2}, format="json")
    assert r.status_code == 200 and OPENAI_KEY_2 not in r.content.decode()
    assert admin.post(url(f"provider-keys/{kid}/disable/")).json()["status"] == "disabled"
    assert admin.post(url(f"provider-keys/{kid}/enable/")).json()["status"] == "active"
    assert admin.post(url(f"provider-keys/{kid}/set-default/")).json()["is_default"] is True
    r = admin.get(url("provider-keys/"))
    assert [k["label"] for k in r.json()["results"]] == ["main"] and OPENAI_KEY_2 not in r.content.decode()
    assert admin.post(url(f"provider-keys/{kid}/revoke/")).json()["status"] == "revoked"
    assert admin.post(url(f"provider-keys/{kid}/enable/")).status_code == 400
    assert client_for(world.member).post(url(f"provider-keys/{kid}/test/")).json() == {
        "exists": False, "decryptable": False}
    assert client_for(world.member).post(url(f"provider-keys/{kid}/revoke/")).status_code == 403
    assert admin.delete(url(f"provider-keys/{kid}/")).status_code == 204
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "provider_key.create", "provider_key.test", "provider_key.rotate", "provider_key.disable",
        "provider_key.enable", "provider_key.set_default", "provider_key.revoke", "provider_key.test",
        "provider_key.delete"]


def test_skill_readiness_names_only(world):
    Skill.objects.create(slug="web-search", name="Web search", required_env=["SEARCH_API_KEY", "SEARCH_REGION"])
    Skill.objects.create(slug="llm", name="LLM", required_env=[])
    env_var_create(environment=world.prod, name="SEARCH_API_KEY", value=SECRET, kind="skill", actor=world.admin)
    r = client_for(world.member).get(url("skills/"))
    assert r.status_code == 200 and SECRET not in r.content.decode()
    rows = {s["slug"]: s for s in r.json()["results"]}
    assert rows["web-search"]["set"] == ["SEARCH_API_KEY"] and rows["web-search"]["missing"] == ["SEARCH_REGION"]
    assert rows["web-search"]["ready"] is False and rows["llm"]["ready"] is True
    key = provider_key_create(environment=world.prod, provider="openai", label="k", secret=OPENAI_KEY,
                              actor=world.admin)
    Skill.objects.create(slug="chat", name="Chat", required_env=[key.env_var_name])
    assert client_for(world.member).get(url("skills/")).json()["results"][0]["ready"] is True
    provider_key_revoke(key=key, actor=world.admin)
    assert client_for(world.member).get(url("skills/")).json()["results"][0]["missing"] == [key.env_var_name]
    r = client_for(world.member).get(url("skills/", env="staging"))
    assert {s["slug"]: s["ready"] for s in r.json()["results"]}["web-search"] is False


def test_envelope_values_are_refused(world):
    from platos.core.envelope import encrypt

    token = encrypt(SECRET, keyring="encryption", context="secrets_app.EnvironmentVariable.value")
    r = client_for(world.admin).post(url("env-vars/"), {"name": "STOLEN", "value": token}, format="json")
    assert r.status_code == 400 and not EnvironmentVariable.objects.exists()


def test_schema_lists_the_endpoints(client):
    paths = client.get("/agent/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    base = "/agent/v1/projects/{project}/environments/{environment}/"
    for suffix in ["env-vars/", "env-vars/{name}/", "env-vars/{name}/reveal/", "provider-keys/",
                   "provider-keys/{key_id}/", "provider-keys/{key_id}/rotate/", "provider-keys/{key_id}/test/",
                   "provider-keys/{key_id}/set-default/", "provider-keys/{key_id}/revoke/", "skills/"]:
        assert base + suffix in paths, suffix


def test_secret_fields_are_hidden_from_error_reports(world):
    r = client_for(world.admin).post(url("env-vars/"), {"name": "FORM_VAR", "value": SECRET})  # multipart form
    assert r.status_code == 201
    assert set(r.wsgi_request.sensitive_post_parameters) == {"value", "secret"}


FORGED = ["!!notbase64", "cj14", "bz0tMQ=="]  # garbage; r=x; o=-1


@pytest.mark.parametrize(("path", "cursor"), [
    *((path, cursor) for path in ("env-vars/", "provider-keys/", "skills/") for cursor in FORGED),
    ("provider-keys/", "cD1ub3RhZGF0ZQ=="),  # p=notadate, where the order is by created_at
])
def test_a_forged_cursor_is_a_400_naming_it(world, path, cursor):
    response = client_for(world.member).get(url(path), {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert response.json() == {"cursor": ["invalid cursor; use the next link as given"]}
