"""The hash chain: verify_audit_chain, the PostgreSQL trigger, concurrent writers."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from audit.models import GENESIS_HASH, AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import audit_record

pytestmark = pytest.mark.django_db


def _rows(n, **kwargs):
    return [audit_record(action="secret.read", success=True, actor="system:test", key=f"K{i}", **kwargs)
            for i in range(n)]


def _raw(sql, params=()):
    """Raw SQL on the audit table, with the append-only trigger out of the way on PostgreSQL
    (this plays an attacker with the table owner's rights)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only")
        cur.execute(sql, params)
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_append_only")


def _verify(capsys):
    try:
        call_command("verify_audit_chain", batch_size=2)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, capsys.readouterr().out


def test_rows_link_to_each_other_from_genesis(capsys):
    rows = _rows(5)
    stored = list(AuditEvent.objects.order_by("id"))
    assert stored[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in stored[1:]] == [r.row_hash for r in stored[:-1]]
    assert len({r.row_hash for r in stored}) == 5
    code, out = _verify(capsys)
    assert code == 0 and "intact: 5 rows" in out and rows[-1].row_hash in out


def test_empty_log_is_intact(capsys):
    assert _verify(capsys)[0] == 0


def test_values_hash_the_same_when_read_back(capsys):
    """Whatever the database does to a value (jsonb, inet, timestamps), the row still verifies."""
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="2001:0db8:0000:0000:0000:0000:0000:0001",
                                   HTTP_USER_AGENT="Mözilla ☃")
    audit_record(action="secret.read", success=False, actor="system:t", key="clé", scope="acme/prod",
                 request=request, extra={"n": 3, "ratio": 0.1, "big": 1e15, "flag": True, "ids": [1, "a", None],
                                         "z": "é", "a": -2.5e-7})
    request = RequestFactory().get("/", REMOTE_ADDR="::ffff:10.0.0.1")
    audit_record(action="secret.read", success=True, actor="system:t", request=request)
    assert _verify(capsys)[0] == 0


def test_altered_row_is_named(capsys):
    rows = _rows(4)
    _raw("UPDATE audit_auditevent SET success = %s WHERE id = %s", [False, rows[2].id])
    code, message = _verify(capsys)
    assert code == 1
    assert f"row {rows[2].id} was altered" in message


def test_forged_hash_is_named(capsys):
    rows = _rows(4)
    _raw("UPDATE audit_auditevent SET row_hash = %s WHERE id = %s", ["f" * 64, rows[1].id])
    code, message = _verify(capsys)
    assert code == 1 and f"row {rows[1].id} was altered" in message


def test_altered_and_rehashed_row_breaks_the_next_link(capsys):
    from audit import chain

    rows = _rows(4)
    row = AuditEvent.objects.values("prev_hash", *chain.HASHED_FIELDS).get(id=rows[1].id)
    row["key"] = "SOMETHING_ELSE"
    _raw("UPDATE audit_auditevent SET key = %s, row_hash = %s WHERE id = %s",
         [row["key"], chain.row_hash(row, row["prev_hash"]), rows[1].id])
    code, message = _verify(capsys)
    assert code == 1
    assert f"row {rows[2].id} does not follow row {rows[1].id}: row {rows[1].id} was altered" in message


def test_removed_row_is_named_by_its_successor(capsys):
    rows = _rows(5)
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [rows[2].id])
    code, message = _verify(capsys)
    assert code == 1
    assert f"row {rows[3].id} does not follow row {rows[1].id}" in message


def test_rows_moved_out_of_order_are_named(capsys):
    rows = _rows(4)
    # Swap the ids of rows 1 and 2 (through a free id), content and hashes untouched.
    free = rows[-1].id + 100
    _raw("UPDATE audit_auditevent SET id = %s WHERE id = %s", [free, rows[1].id])
    _raw("UPDATE audit_auditevent SET id = %s WHERE id = %s", [rows[1].id, rows[2].id])
    _raw("UPDATE audit_auditevent SET id = %s WHERE id = %s", [rows[2].id, free])
    code, message = _verify(capsys)
    assert code == 1 and f"row {rows[1].id} does not follow row {rows[0].id}" in message


def test_removed_first_rows_are_detected(capsys):
    rows = _rows(3)
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [rows[0].id])
    code, message = _verify(capsys)
    assert code == 1 and f"row {rows[1].id} is the first row" in message


def test_verify_walks_in_batches_with_constant_queries(django_assert_max_num_queries):
    _rows(10)
    # 10 rows, batch of 3 -> 4 batch queries + 1 for the purge anchor, inside the
    # walk's own transaction (here a savepoint and its release, within the test's).
    with django_assert_max_num_queries(7):
        assert audit_chain_verify(batch_size=3).ok


def test_a_failed_audit_write_rolls_back_the_callers_work():
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017,PT011
        audit_record(action="secret.read", success=True, actor="system:test")
        audit_record(action="not a slug", success=True, actor="system:test")
    assert not AuditEvent.objects.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("sql", [
    "UPDATE audit_auditevent SET success = NOT success",
    "UPDATE audit_auditevent SET extra = '{}'",
    "DELETE FROM audit_auditevent",
])
def test_postgres_refuses_update_and_delete(sql):
    _rows(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql)
    assert AuditEvent.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # real transactions: the switch must end with its own
def test_postgres_purge_switch_allows_delete_only_in_its_transaction():
    _rows(2)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT set_config('platos.audit_purge', 'on', true)")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cur.execute("UPDATE audit_auditevent SET success = false")  # UPDATE: never
        cur.execute("DELETE FROM audit_auditevent")
    assert not AuditEvent.objects.exists()
    audit_record(action="secret.read", success=True, actor="system:test")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditevent")  # the switch ended with its transaction


def write_concurrently(threads: int, per_thread: int) -> list[AuditEvent]:
    """``threads`` backends, started together, each writing ``per_thread`` rows in its own
    transactions; the rows written (every thread must succeed)."""
    errors, written = [], []
    start = threading.Barrier(threads)

    def write(n):
        from django.db import connection as conn

        try:
            start.wait()
            for i in range(per_thread):
                with transaction.atomic():
                    written.append(audit_record(action="secret.read", success=True, actor=f"system:t{n}", key=f"K{i}"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            conn.close()

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    return written


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_chain():
    threads, per_thread = 6, 15
    write_concurrently(threads, per_thread)
    report = audit_chain_verify(batch_size=17)
    assert report.ok, report.problem
    assert report.rows == threads * per_thread
    # No fork: within each lane (see audit.chain) every prev_hash is used once.
    assert AuditEvent.objects.values("chain", "prev_hash").distinct().count() == threads * per_thread
