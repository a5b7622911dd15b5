"""--shard K/N filters in SQL: a shard fetches only its own rows, and every row is in exactly one shard."""

import uuid

import pytest
from django.db import connection

from platos.rotation.columns import Column
from platos.rotation.engine import Shard
from tests.rotation.conftest import K1, K2, key_ids, kid, make_notes, raw_rows, run
from tests.testapp.models import Note, PlainMessage

pytestmark = pytest.mark.django_db


def test_each_shard_fetches_only_its_own_rows(use_keys, monkeypatch):
    use_keys(msg=K1, canary=True)
    make_notes(60)
    use_keys(msg=K1, msg_next=K2)
    pks = [pk for pk, _ in raw_rows("testapp_note", "body")]
    fetched: dict[str, list] = {}
    real = Column.fetch_batch

    def counting(self, **kwargs):
        rows = real(self, **kwargs)
        fetched.setdefault(self.label, []).extend(pk for pk, *_ in rows)
        return rows

    monkeypatch.setattr(Column, "fetch_batch", counting)
    for k in (1, 2, 3):
        fetched.clear()
        code, _, _ = run("rotate_message_key", "--shard", f"{k}/3", "--batch-size", "7")
        assert code == 0
        mine = sorted(pk for pk in pks if Shard(k, 3).owns(pk))
        assert 0 < len(mine) < len(pks)
        # The rows read are exactly this shard's (not all 60 filtered in Python).
        assert sorted(fetched["testapp_note.body"]) == mine
    assert key_ids("testapp_note", "body") == {kid(K2): 60}


def _partition(column: Column, count: int) -> list[set]:
    shards = []
    for k in range(1, count + 1):
        rows = column.fetch_batch(after=None, limit=10_000, skip_key_id=None, shard=(k, count))
        shards.append({pk for pk, *_ in rows})
    return shards


@pytest.mark.parametrize("count", [2, 3, 5])
def test_uuid_primary_keys_fall_into_exactly_one_shard(count):
    PlainMessage.objects.bulk_create(
        [PlainMessage(id=uuid.uuid4(), thread_id=uuid.uuid4(), sequence=i, role="user", content=f"m{i}")
         for i in range(120)]
    )
    column = Column(PlainMessage._meta.get_field("content"))
    assert not column.integer_pk
    all_pks = {pk for pk, _ in raw_rows("testapp_plainmessage", "content")}
    shards = _partition(column, count)
    assert set().union(*shards) == all_pks
    assert sum(len(s) for s in shards) == len(all_pks)  # disjoint
    assert all(shards)  # every shard has work
    for k, rows in enumerate(shards, start=1):  # the Python twin agrees with the SQL
        assert all(Shard(k, count).owns(pk if isinstance(pk, str) else str(pk)) for pk in rows)


def test_text_primary_keys_fall_into_exactly_one_shard():
    from platos.models import KeyCanary

    field = KeyCanary._meta.get_field("messages_canary")
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        for i in range(40):
            cur.execute(
                f"INSERT INTO {qn('platos_keycanary')} ({qn('keyring')}, {qn('messages_canary')}, "
                f"{qn('created_at')}) VALUES (%s, %s, CURRENT_TIMESTAMP)",
                [f"text-pk-{i}", "x"],
            )
    column = Column(field)
    assert not column.integer_pk
    all_pks = {pk for pk, v in raw_rows("platos_keycanary", "messages_canary", "keyring") if v is not None}
    shards = _partition(column, 3)
    assert set().union(*shards) == all_pks and sum(len(s) for s in shards) == len(all_pks)
    assert all(shards)


def test_integer_shards_partition_the_notes():
    Note.objects.bulk_create([Note(label=str(i), body="b") for i in range(50)])
    column = Column(Note._meta.get_field("body"))
    shards = _partition(column, 4)
    assert sum(len(s) for s in shards) == 50 and len(set().union(*shards)) == 50
    for k, rows in enumerate(shards, start=1):
        assert rows == {pk for pk in rows if Shard(k, 4).owns(pk)}
