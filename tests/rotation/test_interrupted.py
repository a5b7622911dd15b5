"""A rotation whose database connection dies ends in a clear state: exit 3, recorded, rerun finishes."""

import psycopg
import pytest
from django.db import connection, connections

from platos.rotation import command as rotation_command
from platos.rotation.status import key_status, render_text
from tests.rotation.conftest import E1, K1, K2, key_ids, kid, make_notes, plaintext_digest, run
from tests.rotation.test_postgres import done_at_least, kill_when, start_rotation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def terminate(pids: set[int]) -> None:
    """pg_terminate_backend on exactly these backends (the rotation's own), from a side connection."""
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"],
                         password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True) as side:
        for pid in pids:
            assert side.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


def last_run(keyring: str = "messages") -> dict:
    ring = next(r for r in key_status()["keyrings"] if r["keyring"] == keyring)
    return ring["last_run"]


def test_connection_killed_mid_rotation_exits_3_records_it_and_a_rerun_finishes(use_keys, monkeypatch):
    use_keys(msg=K1, enc=E1, canary=True)
    make_notes(300)
    use_keys(msg=K1, msg_next=K2, enc=E1)
    before = plaintext_digest()
    connection.ensure_connection()
    pids = {connection.connection.info.backend_pid}  # the command runs on this (main-thread) connection

    class KillAfterFirstBatch(rotation_command.Progress):
        def advance(self, n):
            super().advance(n)
            if not getattr(self, "killed", False):
                self.killed = True
                # on_batch runs where the batch was written: on PostgreSQL, the writer thread.
                pids.add(connections["default"].connection.info.backend_pid)
                terminate(pids)

    monkeypatch.setattr(rotation_command, "Progress", KillAfterFirstBatch)
    code, out, err = run("rotate_message_key", "--batch-size", "10")

    assert code == rotation_command.EXIT_INTERRUPTED == 3, out + err
    assert "Traceback" not in out + err
    [line] = [ln for ln in err.splitlines() if "interrupted" in ln]
    assert "rotation interrupted: the database connection was lost" in line
    assert "Nothing is lost" in line and "run it again" in line and "Exit 3" in line
    assert "recorded as interrupted in the audit log" in line
    counts = [key_ids(table, column) for table, column in
              (("testapp_note", "body"), ("testapp_note", "other"), ("platos_keycanary", "messages_canary"))]
    assert sum(c.get(kid(K2), 0) for c in counts) > 0, counts  # one batch was committed ...
    assert sum(c.get(kid(K1), 0) for c in counts) > 0, counts  # ... and the run stopped there
    assert last_run()["state"] == "interrupted"
    assert "last rotation run: interrupted" in render_text(key_status())

    monkeypatch.undo()
    code, out, err = run("rotate_message_key", "--verify")
    assert code == 0, out + err
    assert key_ids("testapp_note", "body") == {kid(K2): 300}
    assert plaintext_digest() == before  # every row readable, nothing lost
    assert last_run()["state"] == "finished"


def test_a_sigkilled_run_shows_as_unfinished_in_key_status(use_keys):
    use_keys(msg=K1, enc=E1, canary=True)
    make_notes(400)
    use_keys(msg=K1, msg_next=K2, enc=E1)
    before = plaintext_digest()

    kill_when(start_rotation(), done_at_least(0.1))  # the start row is written before any batch

    run_state = last_run()
    assert run_state["state"] == "unfinished" and run_state["ended"] is None
    assert "last rotation run: unfinished" in render_text(key_status())
    code, out, err = run("rotate_message_key")
    assert code == 0, out + err
    assert last_run()["state"] == "finished"
    assert plaintext_digest() == before
