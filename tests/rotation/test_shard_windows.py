"""A shard reads window by window by pk: never a full scan per batch, never stops at an empty window."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from platos.rotation.columns import Column
from platos.rotation.engine import Shard
from tests.rotation.conftest import K1, K2, kid, make_notes, raw_rows, run
from tests.testapp.models import Note

pytestmark = pytest.mark.django_db

BODY = Note._meta.get_field("body")


def read_all(column: Column, shard: tuple[int, int], limit: int, skip_key_id=None) -> list:
    pks, after = [], None
    while rows := column.fetch_batch(after=after, limit=limit, skip_key_id=skip_key_id, shard=shard):
        pks.extend(pk for pk, _ in rows)
        after = rows[-1][0]
    return pks


def test_windows_without_a_row_of_the_shard_do_not_end_the_read(use_keys):
    use_keys(msg=K1)
    notes = make_notes(90)
    # Keep the first 10 and the last 20 rows; in between only pks of shard 1/3, so shards 2
    # and 3 meet many windows with none of their rows before their last ones.
    keep = {n.pk for n in notes[:10] + notes[70:]} | {n.pk for n in notes if Shard(1, 3).owns(n.pk)}
    Note.objects.exclude(pk__in=keep).delete()
    column = Column(BODY)
    for k in (1, 2, 3):
        mine = sorted(pk for pk in keep if Shard(k, 3).owns(pk))
        assert read_all(column, (k, 3), limit=2) == mine


def test_windows_already_rotated_are_skipped_not_taken_for_the_end(use_keys):
    use_keys(msg=K1, canary=True)
    make_notes(60)
    use_keys(msg=K1, msg_next=K2)
    pks = [pk for pk, _ in raw_rows("testapp_note", "body")]
    # Rotate the first 40 rows (a killed run's first batches), then read what is left.
    Note.objects.filter(pk__in=pks[:40]).update(body="x")  # re-saved: under K2 (the write key)
    column = Column(BODY)
    for k in (1, 2):
        left = sorted(pk for pk in pks[40:] if Shard(k, 2).owns(pk))
        assert read_all(column, (k, 2), limit=3, skip_key_id=kid(K2)) == left
    for k in (1, 2):
        assert run("rotate_message_key", "--shard", f"{k}/2", "--batch-size", "3")[0] == 0
    assert {v[:17] for _, v in raw_rows("testapp_note", "body")} == {f"pv1:{kid(K2)}:"}


@pytest.mark.postgres
def test_a_shard_batch_is_planned_on_the_primary_key_index_not_a_seq_scan(use_keys):
    use_keys(msg=K1)
    make_notes(20)
    with connection.cursor() as cur:  # a table big enough for the planner to care, with stats
        cur.execute(
            "INSERT INTO testapp_note (label, body) SELECT 'bulk', body FROM testapp_note, "
            "generate_series(1, 400)"
        )
        cur.execute("ANALYZE testapp_note")
    column = Column(BODY)
    with CaptureQueriesContext(connection) as queries:
        rows = column.fetch_batch(after=None, limit=50, skip_key_id=kid(K2), shard=(2, 2))
    assert len(rows) == 50
    select = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "id", "body"')][-1]
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN {select}")
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "Seq Scan" not in plan and "Index" in plan, plan
