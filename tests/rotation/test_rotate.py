"""rotate_message_key / rotate_encryption_key on the test Note model (any database)."""

import json

import pytest

from audit.models import AuditEvent
from platos.rotation import Shard
from platos.rotation.columns import Column
from tests.rotation.conftest import (
    E1,
    E2,
    K1,
    K2,
    insert_legacy,
    key_ids,
    kid,
    make_notes,
    plaintext_digest,
    raw_rows,
    run,
    table_checksum,
)
from tests.testapp.models import Note

pytestmark = pytest.mark.django_db



def test_round_trip_k1_and_legacy_rows_end_under_k2_identical(use_keys):
    use_keys(msg=K1, enc=E1, canary=True)
    make_notes(40)
    use_keys(msg=K1, enc=E1, legacy=True)
    insert_legacy([("legacy body é", '{"legacy": true}'), ("", "[1, 2]"), ("plain", None)])
    before = plaintext_digest()
    assert key_ids("testapp_note", "body") == {kid(K1): 40, "plaintext": 3}

    use_keys(msg=K1, msg_next=K2, enc=E1, enc_next=E2, legacy=True)
    code, out, err = run("rotate_message_key", "--batch-size", "7")
    assert code == 0, out + err
    assert "rotated 43" in out and "Every row of keyring 'messages' is under key id" in out
    code, out, err = run("rotate_encryption_key", "--batch-size", "7")
    assert code == 0, out + err

    assert key_ids("testapp_note", "body") == {kid(K2): 43}
    assert key_ids("testapp_note", "other") == {kid(K2): 14}
    assert key_ids("testapp_note", "data") == {kid(E2): 22}
    assert key_ids("platos_keycanary", "messages_canary") == {kid(K2): 1}
    assert key_ids("platos_keycanary", "encryption_canary") == {kid(E2): 1}
    assert plaintext_digest() == before

    # The swap: X=K2, no _NEXT, legacy mode off. Everything still reads.
    use_keys(msg=K2, enc=E2, legacy=False)
    assert plaintext_digest() == before
    from platos.rotation import canary_verify

    assert {s.status for s in canary_verify()} == {"ok"}


def test_second_run_finds_nothing_left(use_keys):
    use_keys(msg=K1, canary=True)
    make_notes(5)
    use_keys(msg=K1, msg_next=K2)
    assert run("rotate_message_key")[0] == 0
    snapshot = table_checksum("testapp_note")
    code, out, _ = run("rotate_message_key")
    assert code == 0 and "rotated 0 rows" in out and "0 rows to rotate" in out
    assert table_checksum("testapp_note") == snapshot


def test_without_next_refuses_exit_2_and_writes_nothing(use_keys):
    use_keys(msg=K1, canary=True)
    make_notes(5)
    before = table_checksum("testapp_note"), AuditEvent.objects.count()
    code, out, err = run("rotate_message_key")
    assert code == 2
    assert "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT is not set" in err and "Nothing was written" in err
    code, out, err = run("rotate_encryption_key")
    assert code == 2 and "ENCRYPTION_KEY_NEXT is not set" in err
    assert (table_checksum("testapp_note"), AuditEvent.objects.count()) == before


def test_bad_shard_or_batch_size_is_misuse(use_keys):
    use_keys(msg=K1, msg_next=K2, canary=True)
    for args in (["--shard", "3/2"], ["--shard", "x"], ["--batch-size", "0"]):
        assert run("rotate_message_key", *args)[0] == 2


def test_corrupted_row_is_named_rest_rotate_exit_1(use_keys):
    use_keys(msg=K1, canary=True)
    notes = make_notes(12)
    victim = notes[4].pk
    stored = dict(raw_rows("testapp_note", "body"))[victim]
    corrupted = stored[:-3] + ("AAA" if not stored.endswith("AAA") else "BBB")
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("UPDATE testapp_note SET body = %s WHERE id = %s", [corrupted, victim])
    use_keys(msg=K1, msg_next=K2)
    code, out, err = run("rotate_message_key", "--batch-size", "5")
    assert code == 1
    assert f"FAILED testapp_note.body pk={victim}: authentication failed" in err
    assert f"cannot decrypt pk={victim}" in out and "could not decrypt 1" in out
    rows = dict(raw_rows("testapp_note", "body"))
    assert rows[victim] == corrupted  # left exactly as it was
    assert key_ids("testapp_note", "body") == {kid(K2): 11, kid(K1): 1}
    end = AuditEvent.objects.filter(action="keys.rotation.run", extra__phase="end").get()
    assert end.success is False and end.extra["failed"] == 1
    assert f"testapp_note.body:{victim}" in end.extra["failed_pks"]


def test_plaintext_row_without_legacy_mode_is_a_failure_not_encrypted(use_keys):
    use_keys(msg=K1, canary=True)
    make_notes(3)
    insert_legacy([("was plaintext", None)])
    use_keys(msg=K1, msg_next=K2, legacy=False)
    code, out, err = run("rotate_message_key")
    assert code == 1 and "legacy plaintext mode is off" in err
    assert key_ids("testapp_note", "body") == {kid(K2): 3, "plaintext": 1}


def test_dry_run_writes_nothing(use_keys):
    use_keys(msg=K1, canary=True)
    make_notes(9)
    use_keys(msg=K1, msg_next=K2, legacy=True)
    insert_legacy([("old", None)])
    before = [table_checksum(t) for t in ("testapp_note", "platos_keycanary", "audit_auditevent")]
    code, out, _ = run("rotate_message_key", "--dry-run")
    assert code == 0
    assert f"testapp_note.body: {kid(K1)}: 9, legacy plaintext: 1 -> would rotate 10" in out
    assert f"platos_keycanary.messages_canary: {kid(K1)}: 1 -> would rotate 1" in out
    assert [table_checksum(t) for t in ("testapp_note", "platos_keycanary", "audit_auditevent")] == before


def test_shards_cover_every_row_exactly_once(use_keys):
    use_keys(msg=K1, canary=True)
    make_notes(60)
    use_keys(msg=K1, msg_next=K2)
    pks = [pk for pk, _ in raw_rows("testapp_note", "body")]
    owners = {pk: [k for k in (1, 2, 3) if Shard(k, 3).owns(pk)] for pk in pks}
    assert all(len(o) == 1 for o in owners.values())
    assert {o[0] for o in owners.values()} == {1, 2, 3}  # every shard has work
    rotated = []
    for k in (1, 2, 3):
        under_k2_before = {pk for pk, v in raw_rows("testapp_note", "body") if kid(K2) in v}
        code, out, _ = run("rotate_message_key", "--shard", f"{k}/3", "--batch-size", "8")
        assert code == 0
        under_k2 = {pk for pk, v in raw_rows("testapp_note", "body") if kid(K2) in v}
        newly = under_k2 - under_k2_before
        assert newly == {pk for pk in pks if owners[pk] == [k]}  # exactly this shard's rows
        rotated.append(len(newly))
    assert sum(rotated) == len(pks)
    assert key_ids("testapp_note", "body") == {kid(K2): 60}


def test_row_edited_between_read_and_write_keeps_the_edit(use_keys, monkeypatch):
    """Compare-and-swap, deterministically: edit rows after the batch is read, before it is written."""
    use_keys(msg=K1, canary=True)
    notes = make_notes(20)
    use_keys(msg=K1, msg_next=K2)
    edited = {notes[3].pk: "edited three", notes[11].pk: "edited eleven"}
    original = Column.fetch_batch

    def fetch_then_edit(self, **kwargs):
        rows = original(self, **kwargs)
        if self.label == "testapp_note.body":
            for pk, _ in rows:
                if pk in edited:
                    Note.objects.filter(pk=pk).update(body=edited[pk])  # a user editing now
        return rows

    monkeypatch.setattr(Column, "fetch_batch", fetch_then_edit)
    code, out, _ = run("rotate_message_key", "--batch-size", "6")
    assert code == 0
    assert "changed during run 2" in out
    for pk, text in edited.items():
        assert Note.objects.get(pk=pk).body == text
    assert key_ids("testapp_note", "body") == {kid(K2): 20}


def test_audit_rows_record_the_run_without_key_material(use_keys):
    rings = use_keys(msg=K1, canary=True)
    make_notes(4)
    rings = use_keys(msg=K1, msg_next=K2)
    assert run("rotate_message_key")[0] == 0
    start, end = AuditEvent.objects.filter(action="keys.rotation.run").order_by("id")
    assert start.extra["phase"] == "start" and end.extra["phase"] == "end"
    assert end.success and end.extra["to_key_id"] == kid(K2)
    assert end.extra["rotated"] == 4 + 2 + 1  # body, other (i % 3 == 0), canary
    assert end.extra["from_key_ids"] == [kid(K1)]
    assert end.actor.startswith("system:rotate_message_key")
    dump = json.dumps([start.extra, end.extra]) + start.actor
    for ring in rings.values():
        for key in ring.keys.values():
            raw = key.material.reveal()
            assert raw.hex() not in dump and raw.decode("latin-1") not in dump


def test_verify_reports_rows_not_under_next_key(use_keys):
    use_keys(msg=K1, canary=True)
    make_notes(6)
    use_keys(msg=K1, msg_next=K2)
    code, out, err = run("rotate_message_key", "--verify")
    assert code == 0 and "verify failures 0" in out


def test_verify_fails_on_a_row_that_does_not_decrypt(use_keys, monkeypatch):
    use_keys(msg=K1, canary=True)
    make_notes(6)
    use_keys(msg=K1, msg_next=K2)
    from platos.rotation import engine

    # Break the row *after* the rotation pass: verify must read it back and fail it.
    real = engine.rotate_column

    def rotate_then_break(column, **kwargs):
        result = real(column, **kwargs)
        if column.label == "testapp_note.body":
            from django.db import connection

            pk, value = raw_rows("testapp_note", "body")[0]
            with connection.cursor() as cur:
                cur.execute("UPDATE testapp_note SET body = %s WHERE id = %s", [value[:-4] + "AAAA", pk])
        return result

    monkeypatch.setattr("platos.rotation.service.rotate_column", rotate_then_break)
    code, out, err = run("rotate_message_key", "--verify")
    assert code == 1 and "VERIFY FAILED testapp_note.body" in err and "verify failures 1" in out
