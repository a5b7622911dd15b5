"""Raw SQL over one encrypted column: the rotation and the status page read ciphertext as stored.

The ORM would decrypt (``from_db_value``), so everything here is SQL built from
quoted identifiers of the registry's fields; values always go through parameters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import connections, transaction

from platos.core.envelope import (
    HEADER_LEN,
    NONCE_BYTES,
    PREFIXES,
    ROW_VERSION,
    VERSION,
    header,
)
from platos.core.rowbound import spec_of

LEGACY = "legacy plaintext"
# An envelope's header and its nonce in base64url (12 bytes = 16 characters exactly):
# unique per write, so it stands for the whole stored value in the compare-and-swap.
WRITE_ID_LEN = HEADER_LEN + NONCE_BYTES * 4 // 3
_SQLITE_HASH = "platos_shard_hash"


def shard_hash(text: str) -> int:
    """The shard hash of a non-integer pk's text: the first 32 bits of its MD5, unsigned.

    The same in Python, in PostgreSQL (``md5()``) and in SQLite (registered below), so
    that a shard's filter runs in SQL. Not a security function: it only spreads rows.
    """
    return int(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:8], 16)


def write_id(stored: str) -> str | None:
    """What identifies one write of an envelope (header + nonce); None for legacy plaintext."""
    if stored.startswith(PREFIXES) and len(stored) > WRITE_ID_LEN:
        return stored[:WRITE_ID_LEN]
    return None


def by_key_id(heads: dict[tuple[str, str], int]) -> dict[str, int]:
    """Rows per key id of :meth:`Column.counts_by_head` (both versions together)."""
    counts: dict[str, int] = {}
    for (_version, kid), n in heads.items():
        counts[kid] = counts.get(kid, 0) + n
    return counts


@dataclass(frozen=True)
class Column:
    """One encrypted column of the registry, with everything the SQL needs."""

    field: object
    using: str = "default"

    @property
    def model(self):
        return self.field.model

    @property
    def keyring(self) -> str:
        return self.field.keyring

    @property
    def context(self) -> str:
        return self.field.context

    @property
    def row_bound(self) -> bool:
        """Its values are sealed pv2 with their row's identity (else pv1, column-bound)."""
        return getattr(self.field, "row_bound", False)  # (a plain column in the shard tests)

    @property
    def version(self) -> str:
        """The envelope version a rotation leaves every row of this column in."""
        return ROW_VERSION if self.row_bound else VERSION

    def target_header(self, key_id: str) -> str:
        """The head of a row that is done: this column's version under ``key_id``."""
        return header(key_id, self.version)

    def identity_columns(self) -> list[str]:
        """Quoted columns of the row identity (empty for a column-bound column)."""
        if not self.row_bound:
            return []
        qn = self.connection.ops.quote_name
        return [qn(f.column) for f in spec_of(self.model).fields]

    def row_of(self, raw_identity) -> str:
        """The row text of identity values as the database returned them."""
        return spec_of(self.model).row_from_db(raw_identity)

    @property
    def label(self) -> str:
        return f"{self.model._meta.db_table}.{self.field.column}"

    @property
    def connection(self):
        return connections[self.using]

    def q(self) -> tuple[str, str, str]:
        qn = self.connection.ops.quote_name
        return qn(self.model._meta.db_table), qn(self.model._meta.pk.column), qn(self.field.column)

    @property
    def integer_pk(self) -> bool:
        return self.model._meta.pk.get_internal_type() in (
            "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField",
            "SmallIntegerField", "PositiveIntegerField", "PositiveBigIntegerField",
        )

    def counts_by_head(self) -> dict[tuple[str, str], int]:
        """Rows per (version, key id) from the stored heads, in one query: ``(LEGACY, LEGACY)``
        for values that are not envelopes; NULLs are not counted. Nothing is decrypted."""
        from platos.rotation.counts import counts_by_head  # (counts builds on Column)

        return counts_by_head([self])[0]

    def shard_sql(self, index: int, count: int) -> tuple[str, list]:
        """A WHERE term true for exactly the rows of shard ``index`` (1-based) of ``count``.

        Integer pks: ``pk mod count`` (made non-negative). Other pks (text, UUID): the first
        32 bits of MD5 of the pk's text, ``md5()`` on PostgreSQL and a registered function
        on SQLite. A function of the pk alone, so every row is in exactly one shard.
        """
        _, pk, _ = self.q()
        connection = self.connection
        if self.integer_pk:
            return f"(({pk} %% %s) + %s) %% %s = %s", [count, count, count, index - 1]
        if connection.vendor == "postgresql":
            return f"(('x' || substr(md5({pk}::text), 1, 8))::bit(32)::bigint %% %s) = %s", [count, index - 1]
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            connection.connection.create_function(_SQLITE_HASH, 1, lambda v: shard_hash(str(v)), deterministic=True)
            return f"({_SQLITE_HASH}({pk}) %% %s) = %s", [count, index - 1]
        raise NotImplementedError(f"--shard on {connection.vendor} with a non-integer primary key")

    def fetch_batch(self, *, after, limit: int, skip_key_id: str | None, shard: tuple[int, int] | None = None):
        """Rows ``(pk, stored)`` with pk > after, not NULL, not already done under ``skip_key_id``
        (:meth:`target_header`), and (``shard=(index, count)``) only the rows of that shard.
        ``[]``: nothing left. A row-bound column's rows are ``(pk, stored, row)``: ``row`` is
        the text of the row's identity, which a pv2 envelope is opened and sealed with.

        A shard reads window by window: the next ``limit * count`` pks after ``after`` (two
        index-only lookups), then its own rows among them by a pk range. Without the range
        PostgreSQL cannot estimate the shard filter (it guesses 0.5% of rows match) and plans
        each batch as a seq scan of the whole table and a sort, so every shard read every row
        for every batch. The window skips at most ``limit * count`` index entries: each batch
        costs its own size, never the table's.
        """
        if shard is None or shard[1] <= 1:
            return self._select(after=after, upper=None, limit=limit, skip_key_id=skip_key_id, shard=None)
        window = limit * shard[1]
        while True:
            edge, top = self._window_edge(after, window)
            if top is None:  # no row at all
                return []
            upper = top if edge is None else edge  # fewer than a window left: up to the last pk
            rows = self._select(after=after, upper=upper, limit=limit, skip_key_id=skip_key_id, shard=shard)
            if rows or edge is None:
                return rows
            after = edge  # a window without a row of this shard (or all rotated): the next one

    def _window_edge(self, after, window: int):
        """(the pk ``window`` rows after ``after`` or None if fewer are left, the largest pk)."""
        table, pk, _ = self.q()
        lower, params = (f"WHERE {pk} > %s", [after]) if after is not None else ("", [])
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT (SELECT {pk} FROM {table} {lower} ORDER BY {pk} LIMIT 1 OFFSET %s), "  # noqa: S608
                f"(SELECT {pk} FROM {table} ORDER BY {pk} DESC LIMIT 1)",  # (no max(uuid) in PostgreSQL)
                [*params, window - 1],
            )
            return cursor.fetchone()

    def _select(self, *, after, upper, limit: int, skip_key_id: str | None, shard: tuple[int, int] | None):
        table, pk, col = self.q()
        where = [f"{col} IS NOT NULL"]
        params: list = []
        if shard is not None and shard[1] > 1:
            term, term_params = self.shard_sql(*shard)
            where.append(term)
            params.extend(term_params)
        if skip_key_id is not None:
            where.append(f"substr({col}, 1, {HEADER_LEN}) <> %s")
            params.append(self.target_header(skip_key_id))
        if after is not None:
            where.append(f"{pk} > %s")
            params.append(after)
        if upper is not None:
            where.append(f"{pk} <= %s")
            params.append(upper)
        identity = self.identity_columns()
        sql = (
            f"SELECT {', '.join([pk, col, *identity])} FROM {table} WHERE {' AND '.join(where)} "  # noqa: S608
            f"ORDER BY {pk} LIMIT %s"
        )
        params.append(limit)
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not identity:
            return rows
        row_from_db = spec_of(self.model).row_from_db
        return [(r[0], r[1], row_from_db(r[2:])) for r in rows]

    def compare_and_swap(self, changes: list[tuple[object, str, str]]) -> int:
        """Write ``new`` where the row still holds ``old``; return how many rows were written.

        ``changes`` is ``[(pk, old, new), ...]``. A row edited since it was read no
        longer holds ``old`` and is left alone (its edit wins). For an envelope, "still
        holds ``old``" is checked on its header + nonce (:func:`write_id`): every write
        of the column draws a fresh random 96-bit nonce, so any other write changes them
        (the only writes that keep them write back the very same token: loaddata, or an
        Undecryptable saved as it was read). Legacy plaintext is compared whole.
        """
        if not changes:
            return 0
        table, pk, col = self.q()
        connection = self.connection
        # savepoint=False: inside the caller's batch transaction this adds nothing; alone,
        # it makes the batch one transaction (the scratch table lives until commit).
        with transaction.atomic(using=self.using, savepoint=False), connection.cursor() as cursor:
            if connection.vendor == "postgresql" and hasattr(cursor.cursor, "copy"):
                return self._compare_and_swap_postgresql(cursor, changes)
            written = 0
            by_head = [(new, pk_value, head) for pk_value, old, new in changes if (head := write_id(old))]
            whole = [(new, pk_value, old) for pk_value, old, new in changes if write_id(old) is None]
            for sql, rows in (
                (f"UPDATE {table} SET {col} = %s WHERE {pk} = %s AND substr({col}, 1, {WRITE_ID_LEN}) = %s", by_head),  # noqa: S608
                (f"UPDATE {table} SET {col} = %s WHERE {pk} = %s AND {col} = %s", whole),  # noqa: S608
            ):
                if rows:
                    cursor.executemany(sql, rows)
                    written += cursor.rowcount
            return written

    def _compare_and_swap_postgresql(self, cursor, changes) -> int:
        """Binary COPY into a session temp table, then one joined UPDATE (``pg_write``)."""
        from platos.rotation.pg_write import compare_and_swap_postgresql

        return compare_and_swap_postgresql(self, cursor, changes)
