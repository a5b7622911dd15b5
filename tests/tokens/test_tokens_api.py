"""API tokens: create once, list metadata, revoke, expiry, the two Bearer schemes, the command."""

import datetime as dt
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from entities.services import entity_create
from secrets_app.models import Environment, Project
from secrets_app.tokens.models import ApiToken
from secrets_app.tokens.services import token_create

pytestmark = pytest.mark.django_db
TOKENS = "/agent/v1/auth/tokens/"
TOKEN_SHAPE = re.compile(r"\Aplt_[0-9a-f]{64}\Z")


@pytest.fixture
def ada():
    return get_user_model().objects.create_user("ada", password="pw-ada-123")


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_create_shows_the_token_once_and_it_authenticates(ada):
    session = APIClient()
    session.force_authenticate(ada)
    r = session.post(TOKENS, {"name": "laptop"}, format="json")
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "name", "token", "expires_at"} and body["name"] == "laptop"
    assert TOKEN_SHAPE.match(body["token"])
    row = ApiToken.objects.get(pk=body["id"])
    assert abs(row.expiry - (timezone.now() + dt.timedelta(days=90))) < dt.timedelta(minutes=1)

    listed = bearer(body["token"]).get(TOKENS)
    assert listed.status_code == 200
    [item] = listed.json()["results"]
    assert set(item) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at"}
    assert item["prefix"] == body["token"][:15] and item["last_used_at"] is not None
    assert body["token"] not in listed.content.decode()
    created = AuditEvent.objects.get(action="token.create")
    assert (created.actor, created.subject_id, created.extra["prefix"]) == ("ada", str(row.pk), row.token_key)


def test_list_is_only_the_callers_tokens(ada):
    bob = get_user_model().objects.create_user("bob")
    token_create(user=bob, name="bobs")
    _, mine = token_create(user=ada, name="mine")
    assert [t["name"] for t in bearer(mine).get(TOKENS).json()["results"]] == ["mine"]


@pytest.mark.parametrize("payload", [{"name": "x", "expires_in_days": 0}, {"name": "x", "expires_in_days": 366},
                                     {"name": "x", "expires_in_days": "soon"}, {}, {"name": ""}])
def test_bad_input_is_a_clear_400(ada, payload):
    client = APIClient()
    client.force_authenticate(ada)
    r = client.post(TOKENS, payload, format="json")
    assert r.status_code == 400
    assert set(r.json()) <= {"name", "expires_in_days"} and r.json()
    assert not ApiToken.objects.exists()


def test_expiry_up_to_365_days(ada):
    client = APIClient()
    client.force_authenticate(ada)
    r = client.post(TOKENS, {"name": "ci", "expires_in_days": 365}, format="json")
    assert r.status_code == 201
    assert ApiToken.objects.get().expiry > timezone.now() + dt.timedelta(days=364)


def test_revoke_stops_authentication_and_is_audited(ada):
    row, token = token_create(user=ada, name="old")
    _, other = token_create(user=ada, name="other")
    client = bearer(other)
    assert client.delete(f"{TOKENS}{row.pk}/").status_code == 204
    assert bearer(token).get(TOKENS).status_code == 401
    assert AuditEvent.objects.filter(action="token.revoke", subject_id=str(row.pk)).count() == 1
    bob_row, _ = token_create(user=get_user_model().objects.create_user("bob"), name="bobs")
    assert client.delete(f"{TOKENS}{bob_row.pk}/").status_code == 404  # not yours
    assert ApiToken.objects.filter(pk=bob_row.pk).exists()


def test_expired_and_inactive_and_garbage_tokens_are_refused_and_audited(ada):
    row, token = token_create(user=ada, name="old")
    ApiToken.objects.filter(pk=row.pk).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    r = bearer(token).get(TOKENS)
    assert r.status_code == 401 and r.json() == {"detail": "Invalid or expired API token."}
    assert r["WWW-Authenticate"] == 'Bearer realm="platos"'
    _, live = token_create(user=ada, name="live")
    ada.is_active = False
    ada.save()
    assert bearer(live).get(TOKENS).status_code == 401
    assert bearer("plt_" + "0" * 64).get(TOKENS).status_code == 401
    failed = AuditEvent.objects.filter(action="token.auth.failed").order_by("id")
    reasons = list(failed.values_list("reason", flat=True))
    assert reasons == ["expired", "inactive_user", "invalid_token"]
    assert ApiToken.objects.filter(pk=row.pk).exists()  # an expired token stays listed until revoked


def test_entity_bearer_and_api_token_do_not_swallow_each_other(ada):
    env = Environment.objects.create(project=Project.objects.create(slug="acme", name="Acme"), slug="production")
    entity, secret = entity_create(environment=env, actor=ada, slug="crm", display_name="CRM",
                                   base_url="https://crm.example.com")
    _, token = token_create(user=ada, name="t")
    client = APIClient()
    whoami, ref = "/agent/v1/entity/whoami", str(entity.pk)
    r = client.get(whoami, HTTP_X_PLATOS_ENTITY=ref, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert r.status_code == 200 and r.json()["slug"] == "crm"
    # A user's token on the entity endpoint: a valid identity, not an entity credential
    # (403 saying so, no entity failure row).
    r = client.get(whoami, HTTP_X_PLATOS_ENTITY=ref, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 403 and "connected entities" in r.json()["detail"]
    assert not AuditEvent.objects.filter(action="entity.auth.failed").exists()
    # An entity secret on a user endpoint: not a token (401, no token failure row).
    assert client.get(TOKENS, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    assert not AuditEvent.objects.filter(action="token.auth.failed").exists()


def test_token_create_command_prints_the_token_once(ada):
    out, err = io.StringIO(), io.StringIO()
    call_command("token_create", "--user", "ada", "--name", "deploy", "--expires-days", "30", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert TOKEN_SHAPE.match(token) and token not in err.getvalue()
    row = ApiToken.objects.get()
    assert row.name == "deploy" and row.expiry < timezone.now() + dt.timedelta(days=31)
    assert bearer(token).get(TOKENS).status_code == 200
    from django.core.management.base import CommandError
    with pytest.raises(CommandError, match="expires_in_days"):
        call_command("token_create", "--user", "ada", "--expires-days", "366", stdout=out, stderr=err)
    with pytest.raises(CommandError, match="no user"):
        call_command("token_create", "--user", "nobody", stdout=out, stderr=err)
