"""Read tiers (README): probing for names is visible. A reveal or a runtime read of a
name that does not exist answers 404 and leaves a failed audit row."""

import pytest

from audit.models import AuditEvent
from secrets_app.services.service_accounts import service_account_create
from tests.factories import EnvironmentVariableFactory
from tests.secrets_app.conftest import client_for, url
from tests.secrets_app.test_service_accounts import RUNTIME, bearer

pytestmark = pytest.mark.django_db


def test_revealing_a_name_that_does_not_exist_is_a_failed_audited_reveal(world):
    admin = client_for(world.admin)
    r = admin.post(url("env-vars/NOPE/reveal/"), {"reason": "probing"}, format="json")
    assert r.status_code == 404 and r["Cache-Control"] == "no-store"
    row = AuditEvent.objects.get(action=AuditEvent.Action.SECRET_REVEAL)
    assert (row.success, row.key, row.scope, row.actor, row.reason, row.extra["failure"]) == (
        False, "NOPE", "acme/production", "ada", "probing", "missing")
    # Outsiders are stopped before (404 for the scope): nothing about names to probe there.
    assert client_for(world.outsider).post(url("env-vars/NOPE/reveal/"), {"reason": "x"},
                                           format="json").status_code == 404
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SECRET_REVEAL).count() == 1


def test_a_runtime_read_of_a_missing_name_is_a_failed_read(world):
    EnvironmentVariableFactory(environment=world.prod, name="THERE", value="v")
    _, _, token = service_account_create(project=world.acme, name="worker", environments=["production"],
                                         actor=world.admin)
    assert bearer(token).get(RUNTIME.format(env="production") + "/MISSING").status_code == 404
    row = AuditEvent.objects.filter(action=AuditEvent.Action.SECRET_READ).latest("id")
    assert (row.success, row.key, row.reason, row.actor) == (False, "MISSING", "missing",
                                                             "service_account:acme/worker")
