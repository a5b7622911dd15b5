"""Key age: PLATOS_ROTATE_AFTER_DAYS flags old provider-key secrets in key_status, check --deploy,
the admin (badge + filter), and a rotate's audit row records the age of the value it replaced.

Ages are made by moving timestamps back with ``update()`` (no sleeping, no clock patching).
"""

import io
import json
from datetime import timedelta

import pytest
from django.core import checks
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from secrets_app.models import EnvironmentVariable, ProviderKey
from secrets_app.services import (
    env_var_create,
    env_var_rollback,
    env_var_update,
    provider_key_create,
    provider_key_revoke,
    provider_key_rotate,
)

from .conftest import OPENAI_KEY, OPENAI_KEY_2, SECRET

pytestmark = pytest.mark.django_db


def _days_ago(days: int, hours: int = 1):
    return timezone.now() - timedelta(days=days, hours=hours)


@pytest.fixture
def aged(world):
    """An old key (120 days), a fresh one, an old revoked one, an old stand-alone provider-key
    variable (200 days) and an old plain variable (never flagged)."""
    old = provider_key_create(environment=world.prod, provider="openai", label="old", secret=OPENAI_KEY,
                              actor=world.admin)
    fresh = provider_key_create(environment=world.prod, provider="openai", label="fresh",
                                secret="sk-proj-FRESHkey0123456789abcdef", actor=world.admin)
    gone = provider_key_create(environment=world.staging, provider="openai", label="gone",
                               secret="sk-proj-GONEkey0123456789abcdef", actor=world.admin)
    provider_key_revoke(key=gone, actor=world.admin)
    ProviderKey.objects.filter(pk__in=[old.pk, gone.pk]).update(created_at=_days_ago(120))
    var = env_var_create(environment=world.prod, name="LEGACY_LLM_KEY", value=SECRET, kind="provider_key",
                         actor=world.admin)
    plain = env_var_create(environment=world.prod, name="PLAIN_OLD", value="plain-value-1", actor=world.admin)
    EnvironmentVariable.objects.filter(pk__in=[var.pk, plain.pk]).update(updated_at=_days_ago(200))
    return {"old": old, "fresh": fresh, "var": var, "plain": plain}


def test_key_status_warns_about_old_keys_and_variables_only(aged):
    out = io.StringIO()
    call_command("key_status", "--json", stdout=out)
    age = json.loads(out.getvalue())["key_age"]
    assert age["rotate_after_days"] == 90
    assert age["provider_keys"]["checked"] == 2  # the revoked key holds no secret
    assert [(k["label"], k["age_days"]) for k in age["provider_keys"]["due"]] == [("old", 120)]
    assert age["variables"]["checked"] == 1  # provider keys' own variables are counted as keys
    assert [(v["name"], v["age_days"]) for v in age["variables"]["due"]] == [("LEGACY_LLM_KEY", 200)]
    out = io.StringIO()
    call_command("key_status", stdout=out)
    text = out.getvalue()
    assert "WARNING: provider key 'old' (openai) in acme/production is 120 days old" in text
    assert "WARNING: provider-key variable LEGACY_LLM_KEY in acme/production is 200 days old" in text
    assert "'fresh'" not in text and "PLAIN_OLD" not in text and SECRET not in text


def test_the_threshold_is_the_setting(aged, settings):
    settings.PLATOS_ROTATE_AFTER_DAYS = 150
    out = io.StringIO()
    call_command("key_status", "--json", stdout=out)
    age = json.loads(out.getvalue())["key_age"]
    assert age["provider_keys"]["due"] == [] and [v["name"] for v in age["variables"]["due"]] == ["LEGACY_LLM_KEY"]


def _w030():
    return [m for m in checks.run_checks(include_deployment_checks=True) if m.id == "platos.W030"]


def test_check_deploy_warns_with_w030(aged, settings):
    [warning] = _w030()
    assert warning.level == checks.WARNING
    assert "2 provider-key secret(s)" in warning.msg and "'old'" in warning.msg and "LEGACY_LLM_KEY" in warning.msg
    assert SECRET not in warning.msg and OPENAI_KEY not in warning.msg
    assert not [m for m in checks.run_checks() if m.id == "platos.W030"]  # a deploy-only check
    settings.PLATOS_ROTATE_AFTER_DAYS = 365
    assert _w030() == []


def test_a_bad_setting_is_an_error(settings, db):
    settings.PLATOS_ROTATE_AFTER_DAYS = 0
    assert [m.id for m in checks.run_checks() if m.id.startswith("platos.E03")] == ["platos.E030"]


def test_rotate_audit_row_records_the_replaced_secrets_age(aged, world):
    provider_key_rotate(key=aged["old"], secret=OPENAI_KEY_2, actor=world.admin)
    row = AuditEvent.objects.filter(action="provider_key.rotate").latest("pk")
    assert row.extra["replaced_age_days"] == 120
    provider_key_rotate(key=aged["old"], secret="sk-proj-THIRDkey0123456789abcdef", actor=world.admin)
    assert AuditEvent.objects.filter(action="provider_key.rotate").latest("pk").extra["replaced_age_days"] == 0


def test_env_var_change_of_a_provider_key_variable_records_the_age(aged, world):
    env_var_update(variable=aged["var"], value="sk-new-value-0001", actor=world.admin)
    row = AuditEvent.objects.filter(action="secret.write", key="LEGACY_LLM_KEY").latest("pk")
    assert row.extra["replaced_age_days"] == 200
    env_var_update(variable=aged["plain"], value="plain-value-2", actor=world.admin)
    row = AuditEvent.objects.filter(action="secret.write", key="PLAIN_OLD").latest("pk")
    assert "replaced_age_days" not in row.extra  # not a provider key
    env_var_update(variable=aged["var"], kind="provider_key", actor=world.admin)  # value kept: nothing replaced
    assert "replaced_age_days" not in AuditEvent.objects.filter(key="LEGACY_LLM_KEY").latest("pk").extra
    EnvironmentVariable.objects.filter(pk=aged["var"].pk).update(updated_at=_days_ago(30))
    env_var_rollback(variable=aged["var"], version=1, actor=world.admin)
    row = AuditEvent.objects.filter(action="secret.rollback", key="LEGACY_LLM_KEY").latest("pk")
    assert row.extra["replaced_age_days"] == 30


KEYS = "/admin/secrets_app/providerkey/"
VARS = "/admin/secrets_app/environmentvariable/"


def test_admin_badge_and_filter(aged, client, world):
    client.force_login(world.root)
    html = client.get(KEYS).content.decode()
    assert "rotate: 120 days old" in html and "0 days" in html and "— (revoked)" in html
    due = client.get(KEYS, {"rotation": "due"}).content.decode()
    assert "rotate: 120 days old" in due and "fresh" not in due and "gone" not in due
    html = client.get(VARS).content.decode()
    assert "rotate: 200 days old" in html and SECRET not in html
    due = client.get(VARS, {"rotation": "due"}).content.decode()
    assert "LEGACY_LLM_KEY" in due and "PLAIN_OLD" not in due and aged["fresh"].env_var_name not in due
