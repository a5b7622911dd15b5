"""The rotation run: checks, every column of the keyring, the result.

The service prints nothing and writes no audit row: ``key_rotation_plan`` checks
that a run can start and counts what is left, ``key_rotation_run`` re-encrypts and
returns the filled-in result. The command layer (``platos/rotation/command.py``)
prints, names the actor and records the run in the audit log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from platos.core.keys import KEYRING_VARIABLES
from platos.rotation import counts
from platos.rotation.canary import CanaryMismatch, canary_verify
from platos.rotation.columns import LEGACY, Column, by_key_id
from platos.rotation.engine import (
    DEFAULT_BATCH_SIZE,
    ColumnResult,
    RotationMisuse,
    RotationResult,
    Shard,
    keyring_columns,
    rotate_column,
    verify_column,
)


@dataclass
class RotationPlan:
    """What a run will do, found before anything is written.

    result: the run's result, with each column's rows per key id when it started
    (``before``); ``key_rotation_run`` fills in the rest. rows_pending: rows not
    under the next key. batch_size, shard: as given to ``key_rotation_plan``.
    """

    result: RotationResult
    columns: list[Column]
    rows_pending: int
    batch_size: int
    shard: Shard


def _no_next_key(keyring: str) -> RotationMisuse:
    cur_var, next_var = KEYRING_VARIABLES[keyring]
    return RotationMisuse(
        f"{next_var} is not set: there is no key to rotate to. Set {next_var} to the new "
        f"key (keep {cur_var} as it is), restart every process that uses the keys so new "
        "writes use it, then run this command again. (No row is column-bound or under another "
        "key either: there is nothing to re-seal.) Nothing was written."
    )


def _check_canary(keyring: str, using: str) -> None:
    try:
        canary_verify(using=using, keyrings=[keyring])
    except CanaryMismatch as exc:
        raise RotationMisuse(f"{exc}\nNothing was written.") from None


def key_rotation_plan(
    *,
    keyring: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    shard: Shard = Shard(),  # noqa: B008  (frozen dataclass: immutable default)
    using: str = DEFAULT_DB_ALIAS,
) -> RotationPlan:
    """Check that ``keyring`` can be rotated to its write key and count what is left.

    A row is done when it is under the write key (the next key when one is set, else the
    current one) in its column's version: pv2 for a row-bound column, pv1 for a
    column-bound one. So without a next key a run still re-seals column-bound (pv1) rows
    of row-bound columns as pv2; it refuses only when nothing is left to do.

    keyring: ``messages`` or ``encryption``. dry_run: marks the result as a dry run
    (the caller then does not call ``key_rotation_run``). shard: this worker's share.
    Writes nothing. Raises RotationMisuse when the run cannot start.
    """
    if batch_size < 1:
        raise RotationMisuse("--batch-size must be at least 1")
    ring = settings.PLATOS_KEYRINGS[keyring]
    _check_canary(keyring, using)
    to_id = ring.write.id
    columns = keyring_columns(keyring, using=using)
    result = RotationResult(keyring=keyring, from_key_ids=[], to_key_id=to_id, dry_run=dry_run, shard=shard,
                            reseal_only=ring.next is None)
    result.columns = [ColumnResult(column.label) for column in columns]
    pending = 0
    for group in counts.by_table(columns):  # one scan per table, this shard's rows only
        group_heads = counts.counts_by_head([columns[i] for i in group], shard=_sql(shard))
        for i, heads in zip(group, group_heads, strict=True):
            col_result = result.columns[i]
            col_result.before = by_key_id(heads)
            # Done: this column's version (pv2 for row-bound columns) under the write key.
            col_result.pending = sum(n for (v, kid), n in heads.items() if (v, kid) != (columns[i].version, to_id))
            pending += col_result.pending
    seen_ids: set[str] = set()
    for col_result in result.columns:
        seen_ids.update(kid for kid in col_result.before if kid not in (to_id, LEGACY))
    if ring.next is None and not pending:
        raise _no_next_key(keyring)
    result.from_key_ids = sorted(seen_ids)
    return RotationPlan(result=result, columns=columns, rows_pending=pending, batch_size=batch_size, shard=shard)


def _sql(shard: Shard) -> tuple[int, int] | None:
    return (shard.index, shard.count) if shard.count > 1 else None


def _ignore(*args) -> None:
    return None


def key_rotation_run(
    *,
    plan: RotationPlan,
    verify: bool = False,
    on_batch: Callable[[int], None] = _ignore,
    on_failure: Callable[[Column, object, str], None] = _ignore,
    on_verify_failure: Callable[[Column, object, str], None] = _ignore,
) -> RotationResult:
    """Re-encrypt every column of ``plan`` under the next key; return ``plan.result`` filled in.

    verify: afterwards decrypt every row and count those not readable under the next key.
    on_batch(rows): after each batch is written. on_failure(column, pk, reason): a row
    that cannot be decrypted (left as it is). on_verify_failure: likewise for verify.
    ``result.seconds`` is the time of the rotation pass (verify not included).
    """
    result = plan.result
    to_id = result.to_key_id
    started = time.monotonic()
    for group in counts.by_table(plan.columns):
        for i in group:
            rotate_column(
                plan.columns[i], to_key_id=to_id, batch_size=plan.batch_size, shard=plan.shard,
                on_batch=on_batch, on_failure=on_failure, result=result.columns[i],
            )
        # Once the table's columns are done: one scan counts what is left in all of them.
        left = counts.count_not_under([plan.columns[i] for i in group], to_id, shard=_sql(plan.shard))
        for i, n in zip(group, left, strict=True):
            result.columns[i].remaining = n
    result.seconds = time.monotonic() - started
    if verify:
        result.verified = True
        for column in plan.columns:
            result.verify_failures += verify_column(
                column, key_id=to_id, batch_size=plan.batch_size, on_failure=on_verify_failure
            )
    return result
