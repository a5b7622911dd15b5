"""regenerate_entity_secrets: step 1 of the compromised-key runbook, alone and from rotate_encryption_key."""

import builtins

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from entities.models import ConnectedEntity
from entities.services import entity_create
from secrets_app.models import Environment, Project
from tests.rotation.conftest import E1, E2, key_ids, kid, make_notes, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def entities():
    return make_entities()


def make_entities() -> dict:
    """Two active entities and a disabled one: {pk: plaintext secret}."""
    admin = get_user_model().objects.create_user("ops-admin", password="pw-ops-123")
    env = Environment.objects.create(project=Project.objects.create(slug="ops", name="Ops"), slug="prod")
    made = {}
    for slug in ("crm", "erp", "old"):
        entity, secret = entity_create(environment=env, actor=admin, slug=slug, display_name=slug,
                                       base_url=f"https://{slug}.example.com")
        made[entity.pk] = secret
    ConnectedEntity.objects.filter(slug="old").update(status=ConnectedEntity.Status.DISABLED)
    return made


def secrets_now() -> dict:
    return {e.pk: e.service_secret for e in ConnectedEntity.objects.all()}


def by_actor(prefix: str) -> int:
    return AuditEvent.objects.filter(actor__startswith=prefix).count()


def test_regenerates_every_active_entity_and_audits_each(entities):
    code, out, err = run("regenerate_entity_secrets", "--no-input")
    assert code == 0, out + err
    assert "Entity service secrets regenerated: 2." in out and "refused now" in out
    assert "ENCRYPTION_KEY_NEXT is not set" in err  # the suite runs without a next key
    now = secrets_now()
    disabled = ConnectedEntity.objects.get(slug="old").pk
    assert now[disabled] == entities[disabled]
    assert all(now[pk] != old for pk, old in entities.items() if pk != disabled)
    assert by_actor("system:regenerate_entity_secrets") == 2
    assert not any(secret in out + err for secret in list(entities.values()) + list(now.values()))


def test_dry_run_and_a_refused_confirmation_write_nothing(entities, monkeypatch):
    audit_rows = AuditEvent.objects.count()
    code, out, _ = run("regenerate_entity_secrets", "--dry-run")
    assert code == 0 and "would regenerate the service secret of 2 active entities" in out
    monkeypatch.setattr(builtins, "input", lambda prompt: "no")
    code, _, err = run("regenerate_entity_secrets")
    assert code == 2 and "Cancelled. Nothing was written." in err
    code, _, err = run("regenerate_entity_secrets", "--no-input", "--grace-seconds", "-1")
    assert code == 2 and "must be an integer from 0 to" in err and "Nothing was written" in err
    assert secrets_now() == entities and AuditEvent.objects.count() == audit_rows


def test_grace_seconds_keeps_the_old_secret_valid(entities):
    code, out, _ = run("regenerate_entity_secrets", "--no-input", "--grace-seconds", "600")
    assert code == 0 and "stay valid for 600 s" in out
    crm = ConnectedEntity.objects.get(slug="crm")
    assert crm.previous_service_secret == entities[crm.pk] and crm.previous_secret_valid_until is not None


def test_rotate_encryption_key_runs_it_first_under_its_own_actor(use_keys):
    use_keys(enc=E1, canary=True)
    entities = make_entities()
    make_notes(2)
    use_keys(enc=E1, enc_next=E2)
    code, out, err = run("rotate_encryption_key", "--regenerate-entity-secrets")
    assert code == 0, out + err
    assert out.index("Entity service secrets regenerated: 2.") < out.index("Now rotating the key.")
    assert by_actor("system:rotate_encryption_key") == 2 + 2  # two entities, then the run's start/end rows
    assert by_actor("system:regenerate_entity_secrets") == 0
    assert key_ids("entities_connectedentity", "service_secret") == {kid(E2): 3}
    use_keys(enc=E2)  # the swap: every secret still decrypts, the active ones are new
    now = secrets_now()
    assert sum(now[pk] != old for pk, old in entities.items()) == 2
