"""The PostgreSQL write path of a rotation batch: binary COPY into a temp table, one joined UPDATE.

Kept apart from ``columns.py`` (which builds the SQL of every vendor) because this is the
hot path of the writer thread and its design was chosen by measurement
(``tests/bench/bench_rotation_ab.py``; README, Performance, "Key rotation").
"""

from __future__ import annotations

import re

from platos.rotation.columns import WRITE_ID_LEN, write_id


def _pk_type_name(pk_type: str) -> str:
    """``varchar(32)`` -> ``varchar``: the name psycopg's type registry knows."""
    return re.sub(r"\(.*\)", "", pk_type).strip().lower()


def binary_pk_oid(raw_cursor, pk_type: str) -> int | None:
    """The OID of the pk's type if psycopg can dump it in binary, else None (text COPY)."""
    try:
        return raw_cursor.adapters.types.get_oid(_pk_type_name(pk_type))
    except KeyError:
        return None


def compare_and_swap_postgresql(column, cursor, changes) -> int:
    """COPY the batch into a session temp table, then one joined UPDATE (the compare-and-swap).

    The usual batch (every old value an envelope) COPYs only ``(pk, head, new)`` in
    PostgreSQL's binary COPY format: nothing is escaped or parsed as text. In two A/B
    runs (``tests/bench/bench_rotation_ab.py``) the writer's backend spent 0.8-2.1 µs/row
    less CPU than with text COPY of ``(pk, head, old, new)``; this process's CPU and the
    rows/s were the same within the noise. A batch with legacy plaintext rows also sends
    their whole old value (compared whole). The pk range of the batch lets the planner
    use the primary key index. A pk type psycopg cannot dump in binary falls back to text.
    """
    table, pk, col = column.q()
    connection = column.connection
    pk_type = column.model._meta.pk.db_type(connection)
    scratch = connection.ops.quote_name("platos_rotation_cas_" + re.sub(r"[^a-z0-9]+", "_", pk_type.lower()))
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {scratch} (pk {pk_type}, head text, old text, new text) "
        "ON COMMIT DELETE ROWS"
    )
    # No DELETE first: ON COMMIT DELETE ROWS empties it at commit, and a batch that
    # failed mid-way rolled its rows back with its transaction.
    raw = cursor.cursor
    rows = [(pk_value, write_id(old), old, new) for pk_value, old, new in changes]
    whole = any(head is None for _, head, _, _ in rows)  # legacy plaintext: compare the whole value
    pk_oid = binary_pk_oid(raw, pk_type)
    text = raw.adapters.types.get_oid("text")
    names = "(pk, head, old, new)" if whole else "(pk, head, new)"
    fmt = " (FORMAT BINARY)" if pk_oid is not None else ""
    with raw.copy(f"COPY {scratch} {names} FROM STDIN{fmt}") as copy:
        if whole:
            if pk_oid is not None:
                copy.set_types([pk_oid, text, text, text])
            for pk_value, head, old, new in rows:
                copy.write_row((pk_value, head, None if head else old, new))
        else:
            if pk_oid is not None:
                copy.set_types([pk_oid, text, text])
            for pk_value, head, _, new in rows:
                copy.write_row((pk_value, head, new))
    pks = [row[0] for row in rows]
    same = (
        f"CASE WHEN v.head IS NULL THEN t.{col} = v.old ELSE substr(t.{col}, 1, {WRITE_ID_LEN}) = v.head END"
        if whole else f"substr(t.{col}, 1, {WRITE_ID_LEN}) = v.head"
    )
    cursor.execute(
        f"UPDATE {table} AS t SET {col} = v.new FROM {scratch} AS v "  # noqa: S608
        f"WHERE t.{pk} = v.pk AND t.{pk} BETWEEN %s AND %s AND {same}",
        [min(pks), max(pks)],
    )
    return cursor.rowcount
