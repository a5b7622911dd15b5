"""Re-encrypt every column of a keyring under its next key: batched, resumable, compare-and-swap.

No state file: what is left is found from the key id in each stored envelope, so a
killed run is simply run again. Memory is one batch, whatever the table size.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from platos.core.envelope import (
    DecryptionError,
    decrypt,
    encrypt,
    is_legacy_plaintext,
    legacy_plaintext_readable,
    rewrap,
    token_key_id,
)
from platos.core.fields import encrypted_fields
from platos.rotation.columns import LEGACY, Column, shard_hash

# Rows per batch and per transaction. 4000 rows of ~0.5-2 KB is a few MB in memory and
# a few ms of row locks per batch; measured ~20% faster than 1000 (fewer round trips).
DEFAULT_BATCH_SIZE = 4000
_SWITCH_INTERVAL = 0.0002  # seconds; see _Writer
# Failures are printed as they are met; only this many are kept for the summary
# and the audit row, so a table that fails entirely still runs in constant memory.
KEEP_FAILURES = 50


class RotationMisuse(Exception):
    """The run cannot start (nothing was written). The message says what to set."""


@dataclass(frozen=True)
class Shard:
    """Worker ``index`` (1-based) of ``count``: owns the rows whose pk hashes to it.

    The filter runs in SQL (``Column.shard_sql``), so a shard reads only its own rows.
    """

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str | None) -> Shard:
        if not text:
            return cls()
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise RotationMisuse(f"--shard must look like K/N (e.g. 1/4), not {text!r}") from None
        if not (count >= 1 and 1 <= index <= count):
            raise RotationMisuse(f"--shard {text}: need 1 <= K <= N")
        return cls(index, count)

    def owns(self, pk) -> bool:
        """Python twin of the SQL filter, for a pk as the database holds it."""
        if self.count == 1:
            return True
        if isinstance(pk, int):
            return pk % self.count == self.index - 1
        return shard_hash(str(pk)) % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass
class ColumnResult:
    label: str
    before: dict[str, int] = field(default_factory=dict)  # rows per key id when the run started
    rotated: int = 0
    changed: int = 0  # skipped: changed during the run (compare-and-swap lost, the edit won)
    failed: int = 0
    failures: list[tuple[object, str]] = field(default_factory=list)  # (pk, reason), capped
    remaining: int = 0  # rows not done (write key, column's version) when the run ended
    pending: int = 0  # rows not done when the run started (the plan's count)


@dataclass
class RotationResult:
    keyring: str
    from_key_ids: list[str]
    to_key_id: str
    dry_run: bool
    shard: Shard
    columns: list[ColumnResult] = field(default_factory=list)
    verified: bool = False
    verify_failures: int = 0
    seconds: float = 0.0  # the rotation pass, verify not included
    reseal_only: bool = False  # no next key: the current key writes, column-bound rows are re-sealed

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.columns)

    @property
    def exit_code(self) -> int:
        if self.total("failed") or self.verify_failures:
            return 1
        if not self.dry_run and self.shard.count == 1 and self.total("remaining"):
            return 1  # rows written under an old key during the run: a process was not restarted
        return 0


def keyring_columns(keyring: str, *, using: str = DEFAULT_DB_ALIAS) -> list[Column]:
    """Every encrypted column of the keyring, from the registry (new columns join by themselves)."""
    return [Column(f, using) for f in encrypted_fields(keyring)]


def _legacy_plaintext(column: Column, stored: str) -> str:
    """The text of a row that is not an envelope, or raise DecryptionError.

    Only rows without our version prefix count as legacy plaintext (and only in
    legacy mode): a damaged envelope is corruption, reported, never re-wrapped.
    """
    if legacy_plaintext_readable(stored):
        column.field.check_legacy(stored)  # a legacy JSON column must hold JSON (ValueError otherwise)
        return stored
    reason = "not an envelope (legacy plaintext mode is off)" if is_legacy_plaintext(stored) else "damaged envelope"
    raise DecryptionError(reason, keyring=column.keyring, context=column.context)


class _Writer:
    """Runs the compare-and-swap of each batch, one transaction per batch.

    On PostgreSQL outside a transaction it runs in a thread with its own connection,
    so the database writes batch i while this process decrypts/encrypts batch i+1
    (the two use different cores). The queue holds one batch: memory stays bounded.
    Inside an outer transaction (or on SQLite) it writes inline, in the caller's
    connection, so it sees exactly what the caller sees.
    """

    def __init__(self, column: Column, result: ColumnResult, on_batch: Callable[[int], None]):
        self.column, self.result, self.on_batch = column, result, on_batch
        conn = column.connection
        self.threaded = conn.vendor == "postgresql" and not conn.in_atomic_block
        self.error: BaseException | None = None
        if self.threaded:
            # The writer spends its time waiting on PostgreSQL and needs the GIL back
            # after each reply, while the main thread holds it encrypting. With the
            # default 5 ms switch interval every round trip of the writer could wait
            # that long; a short interval lets the two really overlap.
            self._switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch, _SWITCH_INTERVAL))
            self.queue: queue.Queue = queue.Queue(maxsize=1)
            self.thread = threading.Thread(target=self._run, name="platos-rotation-writer", daemon=True)
            self.thread.start()

    # The writer's own batch transactions commit without waiting for the WAL flush
    # (PostgreSQL ``synchronous_commit = off``, this transaction only). Nothing can be
    # lost by it: a server crash can undo only the last batches' re-seals (never an edit:
    # any synchronous commit flushes every earlier commit), which puts those rows back
    # under the old key, still configured and still readable; the run's end audit row is
    # a synchronous commit written after the last batch, so a run reported finished is on
    # disk, and key_status counts what the table really holds. README, "Key rotation".
    async_commit = True

    def _write(self, changes, rows_read: int) -> None:
        with transaction.atomic(using=self.column.using):
            if self.threaded and self.async_commit:
                with self.column.connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO off")
            written = self.column.compare_and_swap(changes)
        self.result.rotated += written
        self.result.changed += len(changes) - written
        self.on_batch(rows_read)

    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                if self.error is None:
                    try:
                        self._write(*item)
                    except BaseException as exc:  # re-raised in the main thread
                        self.error = exc
        finally:
            connections[self.column.using].close()

    def submit(self, changes, rows_read: int) -> None:
        if not self.threaded:
            self._write(changes, rows_read)
            return
        if self.error is not None:
            self.close()
        self.queue.put((changes, rows_read))

    def close(self) -> None:
        if self.threaded and self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if self.threaded:
            sys.setswitchinterval(self._switch)
        if self.error is not None:
            raise self.error


def rotate_column(
    column: Column,
    *,
    to_key_id: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    shard: Shard = Shard(),  # noqa: B008  (frozen dataclass: immutable default)
    on_batch: Callable[[int], None] = lambda n: None,
    on_failure: Callable[[Column, object, str], None] = lambda c, pk, reason: None,
    result: ColumnResult | None = None,
) -> ColumnResult:
    """One pass over a column by primary key; one transaction per batch."""
    result = result or ColumnResult(column.label)
    writer = _Writer(column, result, on_batch)
    try:
        _rotate_batches(column, writer, to_key_id=to_key_id, batch_size=batch_size, shard=shard,
                        on_failure=on_failure, result=result)
    finally:
        writer.close()
    return result


def _rotate_batches(column, writer, *, to_key_id, batch_size, shard, on_failure, result) -> None:
    keyring, context = column.keyring, column.context  # hoisted: this loop is the hot path
    done, bound = column.target_header(to_key_id), column.row_bound
    after = None
    while True:
        rows = column.fetch_batch(
            after=after, limit=batch_size, skip_key_id=to_key_id, shard=(shard.index, shard.count)
        )
        if not rows:
            return
        after = rows[-1][0]
        changes = []
        for item in rows:
            pk, stored = item[0], item[1]
            row = item[2] if bound else None  # a row-bound column: pv1 and pv2 alike come out pv2
            if stored.startswith(done):  # the SQL filter already skips these
                continue
            try:
                if token_key_id(stored) is not None:  # the usual row: re-seal the bytes, no text round trip
                    new = rewrap(stored, keyring=keyring, context=context, row=row)
                else:
                    new = encrypt(_legacy_plaintext(column, stored), keyring=keyring, context=context, row=row)
            except (DecryptionError, ValueError) as exc:
                reason = exc.reason if isinstance(exc, DecryptionError) else "not valid JSON"
                result.failed += 1
                if len(result.failures) < KEEP_FAILURES:
                    result.failures.append((pk, reason))
                on_failure(column, pk, reason)
                continue
            changes.append((pk, stored, new))
        writer.submit(changes, len(rows))


def verify_column(column: Column, *, key_id: str | None, batch_size: int, on_failure) -> int:
    """Decrypt every row of the column in its row; count (and report) rows that do not decrypt,
    and (``key_id``) rows not in the column's version under that key."""
    failures = 0
    after = None
    done = column.target_header(key_id) if key_id is not None else None
    while True:
        rows = column.fetch_batch(after=after, limit=batch_size, skip_key_id=None)
        if not rows:
            return failures
        after = rows[-1][0]
        for item in rows:
            pk, stored = item[0], item[1]
            if done is not None and not stored.startswith(done):
                failures += 1
                kid = token_key_id(stored)
                on_failure(column, pk, f"not under the next key as {column.version} (key id {kid or LEGACY})")
                continue
            try:
                decrypt(stored, keyring=column.keyring, context=column.context,
                        row=item[2] if column.row_bound else None)
            except DecryptionError as exc:
                failures += 1
                on_failure(column, pk, exc.reason)
