"""The compare-and-swap on header + nonce, raced against real edits on PostgreSQL."""

import threading
import time

import psycopg
import pytest
from django.db import connection, connections, transaction

from platos.rotation.columns import WRITE_ID_LEN, Column
from tests.rotation.conftest import E1, K1, K2, kid, make_notes, raw_rows
from tests.testapp.models import Note

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def other_connection(*, autocommit: bool = False) -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"] or None,
        dbname=db["NAME"], autocommit=autocommit,
    )


def rewrapped(rows):
    from platos.core.envelope import rewrap

    return [(pk, old, rewrap(old, keyring="messages", context="testapp.Note.body")) for pk, old in rows]


def test_any_edit_after_the_read_keeps_the_edit(use_keys):
    use_keys(msg=K1, enc=E1, canary=True)
    make_notes(30)
    use_keys(msg=K1, msg_next=K2, enc=E1)
    column = Column(Note._meta.get_field("body"))
    changes = rewrapped(column.fetch_batch(after=None, limit=100, skip_key_id=kid(K2)))
    field = Note._meta.get_field("body")
    same_text = field.get_prep_value(Note.objects.get(pk=changes[0][0]).body)  # same plaintext, new nonce
    other_text = field.get_prep_value("an edit")
    edits = {changes[0][0]: same_text, changes[1][0]: other_text}
    with other_connection() as conn:  # committed by another session after our read
        for pk, value in edits.items():
            conn.execute("UPDATE testapp_note SET body = %s WHERE id = %s", [value, pk])
    assert same_text[:WRITE_ID_LEN] != changes[0][1][:WRITE_ID_LEN]
    with transaction.atomic():
        assert column.compare_and_swap(changes) == len(changes) - 2
    stored = dict(raw_rows("testapp_note", "body"))
    assert {pk: stored[pk] for pk in edits} == edits
    assert all(stored[pk] == new for pk, _, new in changes if pk not in edits)


def test_an_edit_committed_while_the_batch_waits_on_its_row_lock_wins(use_keys):
    """READ COMMITTED: the UPDATE waits on the editor's row lock, then re-checks the new row."""
    use_keys(msg=K1, enc=E1, canary=True)
    make_notes(40)
    use_keys(msg=K1, msg_next=K2, enc=E1)
    column = Column(Note._meta.get_field("body"))
    changes = rewrapped(column.fetch_batch(after=None, limit=100, skip_key_id=kid(K2)))
    target = changes[len(changes) // 2][0]
    edit = Note._meta.get_field("body").get_prep_value("edited while rotation waited")
    result: dict = {}

    def rotate_batch():
        try:
            with transaction.atomic():
                result["written"] = column.compare_and_swap(changes)
        except BaseException as exc:  # re-raised below
            result["error"] = exc
        finally:
            connections.close_all()

    with other_connection() as editor:
        editor.execute("UPDATE testapp_note SET body = %s WHERE id = %s", [edit, target])  # lock held
        thread = threading.Thread(target=rotate_batch)
        thread.start()
        deadline = time.monotonic() + 20
        with other_connection(autocommit=True) as watcher:  # (a fresh pg_stat_activity each query)
            while time.monotonic() < deadline:  # until the batch's UPDATE waits on the row lock
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'UPDATE %%testapp_note%%'"
                ).fetchone()[0]
                if waiting:
                    break
                time.sleep(0.02)
            assert waiting, f"the batch never waited on the editor's lock: {result}"
        editor.commit()
    thread.join(30)
    assert "error" not in result, result.get("error")
    assert result["written"] == len(changes) - 1
    stored = dict(raw_rows("testapp_note", "body"))
    assert stored[target] == edit
    assert Note.objects.get(pk=target).body == "edited while rotation waited"
