"""Counts over every encrypted column of one table in a single scan.

A rotation counts twice: rows per (version, key id) before it starts (the plan, the header, the
progress total) and rows not under the next key when it ends (``remaining``: a process
still writing with the old key). Each is a full scan of the table, so the columns of one
table (``testapp_note.body`` and ``.other``, ``messages_app_message.content`` and
``.thinking_content`` ...) are counted together: one scan per table instead of one per
column. A shard counts only its own rows (the same SQL filter as its reads).
"""

from __future__ import annotations

from platos.core.envelope import HEADER_LEN, KEY_ID_LEN, PREFIX, ROW_PREFIX
from platos.rotation.columns import LEGACY, Column


def by_table(columns: list[Column]) -> list[list[int]]:
    """Indexes of ``columns`` grouped by table (and database), in order of first appearance."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, column in enumerate(columns):
        groups.setdefault((column.using, column.model._meta.db_table), []).append(i)
    return list(groups.values())


def _shard_where(column: Column, shard: tuple[int, int] | None) -> tuple[str, list]:
    if shard is None or shard[1] <= 1:
        return "", []
    term, params = column.shard_sql(*shard)
    return f" AND {term}", params


def counts_by_head(columns: list[Column], *, shard: tuple[int, int] | None = None) -> list[dict[tuple[str, str], int]]:
    """For each column of one table: rows per (version, key id) from the stored heads, as
    :meth:`Column.counts_by_head` (``(LEGACY, LEGACY)`` for values that are not envelopes;
    NULLs are not counted). One ``GROUP BY`` over the table; nothing is decrypted."""
    table = columns[0].q()[0]
    heads, present, params = [], [], []
    for column in columns:
        col = column.q()[2]
        envelope = f"substr({col}, 1, {len(PREFIX)}) IN (%s, %s) AND substr({col}, {HEADER_LEN}, 1) = ':'"
        # '' = not an envelope (a version or key id is never empty); NULL = no value.
        heads.append(f"CASE WHEN {col} IS NULL THEN NULL WHEN {envelope} THEN substr({col}, 1, {len(PREFIX) - 1}) "
                     "ELSE '' END")
        heads.append(f"CASE WHEN {col} IS NULL THEN NULL WHEN {envelope} "
                     f"THEN substr({col}, {len(PREFIX) + 1}, {KEY_ID_LEN}) ELSE '' END")
        params += [PREFIX, ROW_PREFIX, PREFIX, ROW_PREFIX]
        present.append(f"{col} IS NOT NULL")
    where, shard_params = _shard_where(columns[0], shard)
    groups = ", ".join(str(i + 1) for i in range(len(heads)))
    sql = (
        f"SELECT {', '.join(heads)}, COUNT(*) FROM {table} "  # noqa: S608
        f"WHERE ({' OR '.join(present)}){where} GROUP BY {groups}"
    )
    counts: list[dict[tuple[str, str], int]] = [{} for _ in columns]
    with columns[0].connection.cursor() as cursor:
        cursor.execute(sql, params + shard_params)
        for *row, n in cursor.fetchall():
            for i in range(len(columns)):
                version, kid = row[2 * i], row[2 * i + 1]
                if kid is not None:
                    name = (version or LEGACY, kid or LEGACY)
                    counts[i][name] = counts[i].get(name, 0) + n
    return counts


def count_not_under(columns: list[Column], key_id: str, *, shard: tuple[int, int] | None = None) -> list[int]:
    """For each column of one table: rows not NULL and not done under ``key_id`` (not in the
    column's version under it, :meth:`Column.target_header`). One scan."""
    table = columns[0].q()[0]
    sums, params = [], []
    for column in columns:
        col = column.q()[2]
        sums.append(f"SUM(CASE WHEN {col} IS NOT NULL AND substr({col}, 1, {HEADER_LEN}) <> %s THEN 1 ELSE 0 END)")
        params.append(column.target_header(key_id))
    where, shard_params = _shard_where(columns[0], shard)
    sql = f"SELECT {', '.join(sums)} FROM {table} WHERE 1 = 1{where}"  # noqa: S608
    with columns[0].connection.cursor() as cursor:
        cursor.execute(sql, params + shard_params)
        return [n or 0 for n in cursor.fetchone()]
