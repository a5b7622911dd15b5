import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from entities.boundary import read_entity_secret
from entities.models import ConnectedEntity
from entities.services import (
    MAX_GRACE_SECONDS,
    entity_disable,
    entity_secret_regenerate,
    entity_secret_regenerate_all,
    entity_update,
)

pytestmark = pytest.mark.django_db


def test_create_stores_only_ciphertext_and_a_prefix(world, make_entity, raw_column):
    entity, secret = make_entity()
    assert len(secret) == 64 and int(secret, 16) >= 0
    raw = raw_column(ConnectedEntity, "service_secret", entity.pk.hex if raw_pk_is_hex() else entity.pk)
    assert raw.startswith("pv2:") and secret not in raw  # row-bound (issue 13)
    assert ConnectedEntity.objects.get(pk=entity.pk).service_secret == secret
    assert entity.secret_prefix == secret[:8]
    row = AuditEvent.objects.get(action="entity.create")
    assert (row.actor, row.key, row.scope, row.success) == ("ada", "", "acme/production", True)
    # The entity is the subject (its id), named in extra; ``key`` is for stored secrets' names.
    assert (row.subject_type, row.subject_id, row.extra) == ("entity", str(entity.pk), {"slug": "crm"})
    assert secret not in str(row.__dict__)


def raw_pk_is_hex() -> bool:
    from django.db import connection

    return connection.vendor != "postgresql"  # SQLite keeps UUIDs as 32 hex chars


def test_regenerate_replaces_the_secret_and_drops_the_old_one_by_default(world, make_entity):
    entity, old = make_entity()
    entity, new = entity_secret_regenerate(entity=entity, actor=world.admin)
    entity.refresh_from_db()
    assert new != old and entity.service_secret == new and entity.secret_prefix == new[:8]
    assert entity.previous_service_secret is None and entity.previous_secret_valid_until is None
    assert entity.secret_rotated_at is not None
    row = AuditEvent.objects.get(action="entity.secret.regenerate")
    assert row.extra == {"slug": "crm", "grace_seconds": 0, "previous_kept": False}


def test_regenerate_with_grace_keeps_the_old_one_encrypted(world, make_entity, raw_column):
    entity, old = make_entity()
    entity, _ = entity_secret_regenerate(entity=entity, actor=world.admin, grace_seconds=600)
    entity.refresh_from_db()
    assert entity.previous_service_secret == old and entity.previous_secret_valid_until is not None
    pk = entity.pk.hex if raw_pk_is_hex() else entity.pk
    assert old not in raw_column(ConnectedEntity, "previous_service_secret", pk)


@pytest.mark.parametrize("grace", [-1, MAX_GRACE_SECONDS + 1, "60"])
def test_grace_window_is_bounded(world, make_entity, grace):
    entity, _ = make_entity()
    with pytest.raises(ValidationError):
        entity_secret_regenerate(entity=entity, actor=world.admin, grace_seconds=grace)
    assert not AuditEvent.objects.filter(action="entity.secret.regenerate").exists()


def test_disabled_entity_cannot_be_regenerated(world, make_entity):
    entity, _ = make_entity()
    entity_disable(entity=entity, actor=world.admin)
    with pytest.raises(ValidationError):
        entity_secret_regenerate(entity=entity, actor=world.admin)


def test_regenerate_all_counts_active_entities_only(world, make_entity):
    a, a_old = make_entity("a")
    b, _ = make_entity("b")
    entity_disable(entity=b, actor=world.admin)
    make_entity("c", env=world.other_env)
    assert entity_secret_regenerate_all(actor="system:rotate_encryption_key") == 2
    a.refresh_from_db()
    assert a.service_secret != a_old
    rows = AuditEvent.objects.filter(action="entity.secret.regenerate")
    assert rows.count() == 2 and set(rows.values_list("actor", flat=True)) == {"system:rotate_encryption_key"}


def test_update_changes_only_name_and_url(world, make_entity):
    entity, _ = make_entity()
    entity = entity_update(entity=entity, actor=world.admin, display_name="New name")
    assert ConnectedEntity.objects.get(pk=entity.pk).display_name == "New name"
    assert AuditEvent.objects.get(action="entity.update").extra == {"slug": "crm", "fields": ["display_name"]}
    with pytest.raises(ValidationError):
        entity_update(entity=entity, actor=world.admin, slug="other")


def test_boundary_reads_the_current_secret(world, make_entity):
    entity, secret = make_entity()
    assert read_entity_secret(name="crm", environment=world.env) == secret


def test_boundary_reasons(world, make_entity):
    entity, secret = make_entity()
    with pytest.raises(LookupError) as missing:
        read_entity_secret(name="nope", environment=world.env)
    assert missing.value.reason == "missing"
    with pytest.raises(LookupError) as elsewhere:
        read_entity_secret(name="crm", environment=world.other_env)
    assert elsewhere.value.reason == "missing"
    # A ciphertext from another column does not decrypt here (associated data).
    other, _ = make_entity("other")
    moved = ConnectedEntity._meta.get_field("previous_service_secret").get_prep_value("x")
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("UPDATE entities_connectedentity SET service_secret = %s WHERE slug = %s", [moved, "crm"])
    with pytest.raises(LookupError) as broken:
        read_entity_secret(name="crm", environment=world.env)
    assert broken.value.reason == "decryption_failed" and secret not in str(broken.value)
    entity_disable(entity=other, actor=world.admin)
    with pytest.raises(LookupError) as disabled:
        read_entity_secret(name="other", environment=world.env)
    assert disabled.value.reason == "disabled"
