"""audit.0004: old subject spellings are mapped, entity rows lose the slug in ``key``, the chain still verifies."""

import importlib

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from audit import chain
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import _append, audit_record

pytestmark = pytest.mark.django_db
migration = importlib.import_module("audit.migrations.0004_one_vocabulary")


@pytest.fixture(autouse=True)
def _one_chain(monkeypatch):
    """0004 runs before 0005 splits the log into lanes: the history it migrates is the one
    chain of before, lane 0 (whose lock is the old global lock). Write it that way here
    too; on PostgreSQL writers would otherwise pick a lane from the backend's pid."""

    def lane_zero() -> int:
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [chain.ADVISORY_LOCK_ID])
        return 0

    monkeypatch.setattr(chain, "lock_lane", lane_zero)


def _old_row(**fields):
    """A row as the code before the vocabulary wrote it (audit_record now refuses these spellings)."""
    event = AuditEvent(**{"success": True, "actor": "root", "scope": "acme/production", "project": "acme",
                          **fields})
    _append(event)
    return event


class _Editor:
    """What RunPython hands the function and the function uses (SQLite's real schema editor
    cannot be opened inside the test's transaction)."""

    connection = connection

    def execute(self, sql, params=()):
        with connection.cursor() as cur:
            cur.execute(sql, params)


def _migrate():
    with transaction.atomic():  # the migration is atomic
        migration.forwards(apps, _Editor())


def _hashes():
    return dict(AuditEvent.objects.values_list("id", "row_hash"))


def test_old_spellings_are_mapped_and_the_chain_is_rechained_from_the_first_one():
    before = audit_record(action="secret.read", success=True, actor="system:t", key="K",
                          subject_type=AuditEvent.Subject.ENV_VAR, subject_id="7")
    entity = _old_row(action="entity.update", key="crm", subject_type="entities.connectedentity",
                      subject_id="e-1", extra={"fields": ["base_url"]})
    failed = _old_row(action="entity.auth.failed", key="", subject_type="entities.connectedentity",
                      subject_id="(malformed)", success=False, reason="bad_signature")
    shown = _old_row(action="message.plaintext.view", subject_type="messages_app.message", subject_id="m-1",
                     extra={"fields_shown": 3})
    after = audit_record(action="secret.read", success=True, actor="system:t", key="K2")
    old_head = audit_chain_verify().head_hash

    _migrate()

    rows = {row.id: row for row in AuditEvent.objects.all()}
    assert (rows[entity.id].subject_type, rows[entity.id].key, rows[entity.id].extra) == (
        "entity", "", {"slug": "crm", "fields": ["base_url"]})
    assert (rows[failed.id].subject_type, rows[failed.id].key, rows[failed.id].extra) == ("entity", "", {})
    assert rows[shown.id].subject_type == "message" and rows[shown.id].extra == {"fields_shown": 3}
    assert (rows[after.id].key, rows[after.id].subject_type) == ("K2", "")
    # Rows before the first mapped one keep their hash; from it on every hash is new.
    assert rows[before.id].row_hash == before.row_hash
    assert all(rows[e.id].row_hash != e.row_hash for e in (entity, failed, shown, after))
    report = audit_chain_verify()
    assert report.ok, report.problem
    marker = AuditEvent.objects.order_by("-id").first()
    assert (marker.action, marker.actor, report.rows) == ("audit.rechain", "system:migrate", 6)
    assert marker.extra == {"old_head": old_head, "from_id": entity.id, "rehashed": 4}
    assert not AuditEvent.objects.filter(subject_type__in=list(migration.SUBJECTS)).exists()
    if connection.vendor == "postgresql":  # the append-only trigger is back on
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(id=before.id).update(reason="x")


def test_a_chain_that_does_not_verify_is_not_rechained():
    _old_row(action="entity.create", key="crm", subject_type="entities.connectedentity", subject_id="e-1")
    forged = AuditEvent(action="secret.read", success=True, actor="mallory", prev_hash="f" * 64, row_hash="0" * 64)
    forged.save(force_insert=True)  # an inserted row that links to nothing
    stored = _hashes()
    with pytest.raises(RuntimeError, match="does not verify"):
        _migrate()
    assert _hashes() == stored
    assert AuditEvent.objects.filter(subject_type="entities.connectedentity", key="crm").count() == 1
    if connection.vendor == "postgresql":  # the rollback took the trigger switch with it
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(id=forged.id).update(reason="x")


def test_a_log_without_old_spellings_is_left_alone():
    audit_record(action="secret.read", success=True, actor="system:t", key="K",
                 subject_type=AuditEvent.Subject.ENV_VAR, subject_id="7")
    stored = _hashes()
    _migrate()
    assert _hashes() == stored


def test_audit_record_refuses_words_outside_the_vocabulary():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="AuditEvent.Action"):
        audit_record(action="secret.peek", success=True, actor="system:t")
    with pytest.raises(ValidationError, match="AuditEvent.Subject"):
        audit_record(action="secret.read", success=True, actor="system:t", subject_type="entities.connectedentity")
    assert not AuditEvent.objects.exists()
