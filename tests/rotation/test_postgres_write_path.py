"""The binary-COPY write path (and its relaxed commit) raced against real edits on PostgreSQL."""

import io
import random
import re
import threading
import uuid

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction

from platos.core.envelope import encrypt, rewrap, token_key_id
from platos.rotation import engine
from platos.rotation.columns import Column
from tests.rotation.conftest import E1, K1, K2, insert_legacy, key_ids, kid, make_notes, raw_rows
from tests.rotation.test_postgres_cas import other_connection
from tests.testapp.models import Note, PlainMessage

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
FIELD = Note._meta.get_field("body")


@pytest.fixture
def copies(monkeypatch):
    """Every COPY statement this process sends (to check which write path ran)."""
    seen: list[str] = []
    real = psycopg.Cursor.copy

    def spy(self, statement, *args, **kwargs):
        seen.append(str(statement))
        return real(self, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", spy)
    return seen


def test_a_batch_mixing_envelopes_and_legacy_rows_keeps_every_concurrent_edit(use_keys, copies):
    use_keys(msg=K1, enc=E1, canary=True, legacy=True)
    make_notes(20)
    insert_legacy([(f"legacy {i}", None) for i in range(10)])
    use_keys(msg=K1, msg_next=K2, enc=E1, legacy=True)
    column = Column(FIELD)
    rows = column.fetch_batch(after=None, limit=100, skip_key_id=kid(K2))
    changes = [
        (pk, old, rewrap(old, keyring="messages", context=column.context) if token_key_id(old)
         else encrypt(old, keyring="messages", context=column.context))
        for pk, old in rows
    ]
    envelope_pks = [pk for pk, old, _ in changes if token_key_id(old)]
    legacy_pks = [pk for pk, old, _ in changes if not token_key_id(old)]
    edits = {envelope_pks[2]: FIELD.get_prep_value("edit of an envelope row"),
             legacy_pks[3]: FIELD.get_prep_value("edit of a legacy row"),
             legacy_pks[5]: "a legacy row rewritten as plaintext"}
    with other_connection() as conn:  # committed by another session after our read
        for pk, value in edits.items():
            conn.execute("UPDATE testapp_note SET body = %s WHERE id = %s", [value, pk])
    with transaction.atomic():
        assert column.compare_and_swap(changes) == len(changes) - len(edits)
    assert any("FORMAT BINARY" in statement for statement in copies), copies
    stored = dict(raw_rows("testapp_note", "body"))
    assert {pk: stored[pk] for pk in edits} == edits
    assert all(stored[pk] == new for pk, _, new in changes if pk not in edits)


def test_editors_racing_the_rotation_keep_every_edit_and_nothing_is_lost(use_keys, copies, monkeypatch):
    """Two editors on their own connections commit edits (envelopes and legacy rows) right
    where the threaded writer is working; every edit survives, every other row keeps its
    plaintext, and the writer's batches really ran with the relaxed commit."""
    use_keys(msg=K1, enc=E1, canary=True, legacy=True)
    make_notes(1200)
    insert_legacy([(f"legacy {i}", None) for i in range(300)])
    use_keys(msg=K1, msg_next=K2, enc=E1, legacy=True)
    original = {n.pk: n.body for n in Note.objects.all()}
    assert engine._Writer.async_commit
    with connection.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        session_setting = cur.fetchone()[0]
    relaxed: list[str] = []
    real_write = engine._Writer._write

    def spy_write(self, changes, rows_read):
        if self.threaded:
            relaxed.append(threading.current_thread().name)
        return real_write(self, changes, rows_read)

    monkeypatch.setattr(engine._Writer, "_write", spy_write)
    edits: dict[int, str] = {}
    lock = threading.Lock()
    stop = threading.Event()
    head = f"pv1:{kid(K2)}:"

    def editor(seed: int):
        rng = random.Random(seed)
        with other_connection(autocommit=True) as conn:
            n = 0
            while not stop.is_set():
                window = [row[0] for row in conn.execute(
                    "SELECT id FROM testapp_note WHERE substr(body, 1, 17) <> %s ORDER BY id LIMIT 60", [head]
                ).fetchall()]
                if not window:
                    break
                pk = rng.choice(window)
                text = f"edit {seed}.{n} of {pk}"
                with lock:  # the last committed edit of a row is the one it must hold
                    conn.execute("UPDATE testapp_note SET body = %s WHERE id = %s", [FIELD.get_prep_value(text), pk])
                    edits[pk] = text
                n += 1

    threads = [threading.Thread(target=editor, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    out = io.StringIO()
    try:
        call_command("rotate_message_key", "--batch-size", "40", stdout=out, stderr=io.StringIO())
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert edits, "the editors never ran"
    assert relaxed and all(name == "platos-rotation-writer" for name in relaxed)
    assert any("FORMAT BINARY" in statement for statement in copies), copies
    assert key_ids("testapp_note", "body") == {kid(K2): 1500}
    for note in Note.objects.all():
        assert note.body == edits.get(note.pk, original[note.pk]), note.pk
    changed = sum(int(n) for n in re.findall(r"changed during run (\d+)", out.getvalue()))
    assert changed > 0, "no edit raced the rotation: the test did not exercise compare-and-swap"
    with connection.cursor() as cur:  # SET LOCAL: the relaxed commit never leaks into a session
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == session_setting


def test_a_uuid_primary_key_batch_goes_through_binary_copy_and_keeps_an_edit(copies):
    """UUID pks (messages_app's tables) are dumped in binary too; the compare still holds."""
    rows = [PlainMessage(id=uuid.uuid4(), thread_id=uuid.uuid4(), sequence=i, role="user",
                         content=f"pv1:{kid(K1)}:{i:016d}" + "x" * 40) for i in range(12)]
    PlainMessage.objects.bulk_create(rows)
    column = Column(PlainMessage._meta.get_field("content"))
    changes = [(m.id, m.content, f"pv1:{kid(K2)}:{m.sequence:016d}" + "y" * 40) for m in rows]
    edited = rows[4].id
    with other_connection() as conn:
        conn.execute("UPDATE testapp_plainmessage SET content = %s WHERE id = %s", ["an edit", edited])
    with transaction.atomic():
        assert column.compare_and_swap(changes) == len(changes) - 1
    assert any("FORMAT BINARY" in statement for statement in copies), copies
    stored = {m.id: m.content for m in PlainMessage.objects.all()}
    assert stored[edited] == "an edit"
    assert all(stored[pk] == new for pk, _, new in changes if pk != edited)
