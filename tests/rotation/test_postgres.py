"""Crash and concurrency on PostgreSQL: SIGKILL at several points, a writer during the run."""

import io
import os
import random
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection, connections

from tests.rotation.conftest import E1, K1, K2, environ, key_ids, kid, make_notes, plaintext_digest
from tests.testapp.models import Note

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
PROGRESS = re.compile(r"progress: (\d+)/(\d+) rows")


def subprocess_env() -> dict[str, str]:
    """The same test database as this test, the same keys, unbuffered output."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLATOS_", "ENCRYPTION_"))}
    env.update(environ(msg=K1, msg_next=K2, enc=E1))
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="platos.settings_test", PYTHONUNBUFFERED="1")
    return env


def start_rotation():
    return subprocess.Popen(
        [sys.executable, "manage.py", "rotate_message_key", "--batch-size", "10", "--progress-interval", "0"],
        cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def kill_when(proc, predicate) -> str:
    """SIGKILL the process at the first output line that satisfies ``predicate``."""
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if predicate(line):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, "".join(seen)[-3000:]
    return "".join(seen)


def done_at_least(fraction):
    def predicate(line):
        m = PROGRESS.search(line)
        return bool(m) and int(m.group(1)) >= fraction * int(m.group(2))

    return predicate


def test_sigkill_at_several_points_then_run_again_loses_nothing(use_keys):
    use_keys(msg=K1, enc=E1, canary=True)
    make_notes(2000)
    use_keys(msg=K1, msg_next=K2, enc=E1)
    before = plaintext_digest()
    total = 2000 + 667 + 1  # body + other (every third row) + canary

    # 1. Just after start, before or during the first batch.
    kill_when(start_rotation(), lambda line: "rotating to key id" in line)
    # 2. A few batches in.
    kill_when(start_rotation(), done_at_least(0.05))
    after_two = key_ids("testapp_note", "body")
    assert after_two.get(kid(K1)) and after_two.get(kid(K2))  # really killed mid-run
    # 3. Half-way through what was left.
    kill_when(start_rotation(), done_at_least(0.5))
    after_three = key_ids("testapp_note", "body")
    assert after_three.get(kid(K1)) and after_three[kid(K2)] > after_two[kid(K2)]

    connections.close_all()
    final = subprocess.run(
        [sys.executable, "manage.py", "rotate_message_key", "--verify"],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=300,
    )
    assert final.returncode == 0, final.stdout + final.stderr
    assert "Every row of keyring 'messages' is under key id" in final.stdout
    assert key_ids("testapp_note", "body") == {kid(K2): 2000}
    assert key_ids("testapp_note", "other") == {kid(K2): 667}
    assert plaintext_digest() == before
    rotated = sum(int(n) for n in re.findall(r"rotated (\d+), changed", final.stdout))
    assert 0 < rotated < total  # the last run only did what was left


def test_a_writer_editing_during_the_run_keeps_every_edit(use_keys):
    use_keys(msg=K1, enc=E1, canary=True)
    notes = make_notes(1500)
    use_keys(msg=K1, msg_next=K2, enc=E1)
    original = {n.pk: n.body for n in Note.objects.all()}
    edits: dict[int, str] = {}
    stop = threading.Event()
    started = threading.Event()
    rng = random.Random(4)

    def editor():
        try:
            n = 0
            head = f"pv1:{kid(K2)}:"
            while not stop.is_set():
                # Aim at the rows the rotation is about to read or has just read (the lowest
                # pks not yet under K2): that is where a lost update would happen.
                with connection.cursor() as cur:
                    cur.execute(
                        "SELECT id FROM testapp_note WHERE substr(body, 1, 17) <> %s ORDER BY id LIMIT 40",
                        [head],
                    )
                    window = [row[0] for row in cur.fetchall()]
                pk = rng.choice(window) if window else notes[rng.randrange(len(notes))].pk
                text = f"edit {n} of {pk}"
                Note.objects.filter(pk=pk).update(body=text)  # autocommit, under K2 (the write key)
                edits[pk] = text
                n += 1
                started.set()
        finally:
            connection.close()

    thread = threading.Thread(target=editor)
    thread.start()
    started.wait(10)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("rotate_message_key", "--batch-size", "25", stdout=out, stderr=err)
    finally:
        stop.set()
        thread.join(30)
    assert edits, "the editor never ran"
    assert key_ids("testapp_note", "body") == {kid(K2): 1500}
    for note in Note.objects.all():
        assert note.body == edits.get(note.pk, original[note.pk]), note.pk
    changed = sum(int(n) for n in re.findall(r"changed during run (\d+)", out.getvalue()))
    print(f"{len(edits)} rows edited during the run, {changed} compare-and-swap conflicts")
    assert changed > 0, "no edit raced the rotation: the test did not exercise compare-and-swap"


def test_compare_and_swap_on_postgres_writes_a_batch_in_a_few_statements(use_keys):
    use_keys(msg=K1, enc=E1, canary=True)
    make_notes(100)
    use_keys(msg=K1, msg_next=K2, enc=E1)
    from django.test.utils import CaptureQueriesContext

    from platos.rotation.columns import Column

    column = Column(Note._meta.get_field("body"))
    rows = column.fetch_batch(after=None, limit=100, skip_key_id=kid(K2))
    changes = [(pk, old, "pv1:000000000000:x") for pk, old in rows]
    changes[0] = (changes[0][0], "not what is stored", "pv1:000000000000:x")
    with CaptureQueriesContext(connection) as queries:
        assert column.compare_and_swap(changes) == 99
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) <= 6, sql  # not one statement per row
    assert sum(s.startswith("UPDATE") for s in sql) == 1, sql
