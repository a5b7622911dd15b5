"""The rotation run: checks, every column of the keyring, the audit rows, the summary."""

from __future__ import annotations

import getpass
import sys
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from audit.models import AuditEvent
from audit.services import audit_record
from platos.core.envelope import legacy_plaintext_allowed
from platos.core.keys import KEYRING_VARIABLES
from platos.rotation.canary import CanaryMismatch, canary_verify
from platos.rotation.columns import LEGACY
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
from platos.rotation.progress import Progress

AUDIT_ACTION = AuditEvent.Action.KEYS_ROTATION_RUN


def _actor(command: str) -> str:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return f"system:{command} (os user {who})"


def _check_can_start(keyring: str, using: str) -> None:
    cur_var, next_var = KEYRING_VARIABLES[keyring]
    ring = settings.PLATOS_KEYRINGS[keyring]
    if ring.next is None:
        raise RotationMisuse(
            f"{next_var} is not set: there is no key to rotate to. Set {next_var} to the new "
            f"key (keep {cur_var} as it is), restart every process that uses the keys so new "
            "writes use it, then run this command again. Nothing was written."
        )
    try:
        canary_verify(using=using, keyrings=[keyring])
    except CanaryMismatch as exc:
        raise RotationMisuse(f"{exc}\nNothing was written.") from None


def key_rotation_run(
    *,
    keyring: str,
    command: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    verify: bool = False,
    shard: Shard = Shard(),  # noqa: B008
    out=None,
    err=None,
    tty: bool | None = None,
    progress_interval: float = 5.0,
    using: str = DEFAULT_DB_ALIAS,
    before_start=None,
) -> RotationResult:
    """Re-encrypt every column of ``keyring`` under its next key.

    keyring: ``messages`` or ``encryption``. command: the command's name (audit actor).
    dry_run: count and print what would change; write nothing (no audit row either).
    verify: afterwards decrypt every row and report those not readable under the next key.
    shard: this worker's share of the rows. out/err: text streams (stdout/stderr).
    before_start: called once the run is known to be able to start, before the first
        write (rotate_encryption_key regenerates entity secrets there); not on a dry run.
    Raises RotationMisuse before writing anything when the run cannot start.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if batch_size < 1:
        raise RotationMisuse("--batch-size must be at least 1")
    _check_can_start(keyring, using)
    ring = settings.PLATOS_KEYRINGS[keyring]
    to_id = ring.next.id
    columns = keyring_columns(keyring, using=using)
    result = RotationResult(
        keyring=keyring, from_key_ids=[], to_key_id=to_id, dry_run=dry_run, shard=shard
    )
    pending = 0
    seen_ids: set[str] = set()
    for column in columns:
        col_result = ColumnResult(column.label, before=column.counts_by_key_id())
        result.columns.append(col_result)
        pending += sum(n for kid, n in col_result.before.items() if kid != to_id)
        seen_ids.update(kid for kid in col_result.before if kid not in (to_id, LEGACY))
    result.from_key_ids = sorted(seen_ids)

    out.write(
        f"Keyring '{keyring}': rotating to key id {to_id} (writes), from "
        f"{', '.join(result.from_key_ids) or 'no other key id'}"
        f"{' + legacy plaintext' if legacy_plaintext_allowed() else ''}; "
        f"{len(columns)} columns, {pending} rows to rotate"
        f"{f', shard {shard}' if shard.count > 1 else ''}"
        f"{' (dry run: nothing will be written)' if dry_run else ''}.\n"
    )
    if dry_run:
        _print_dry_run(result, to_id, out)
        return result

    if before_start is not None:
        before_start()
    actor = _actor(command)
    audit_record(
        action=AUDIT_ACTION, success=True, actor=actor, subject_type="keyring", subject_id=keyring,
        extra={"phase": "start", "keyring": keyring, "from_key_ids": result.from_key_ids,
               "to_key_id": to_id, "rows_pending": pending, "shard": str(shard)},
    )

    def report(column, pk, reason):
        err.write(f"FAILED {column.label} pk={pk}: {reason}\n")

    progress = Progress(total=pending, stream=err, tty=tty, interval=progress_interval, label=keyring)
    started = time.monotonic()
    for column, col_result in zip(columns, result.columns, strict=True):
        rotate_column(
            column, to_key_id=to_id, batch_size=batch_size, shard=shard,
            on_batch=progress.advance, on_failure=report, result=col_result,
        )
        col_result.remaining = column.count_not_under(to_id)
    progress.finish()
    elapsed = time.monotonic() - started

    if verify:
        for column in columns:
            result.verify_failures += verify_column(
                column, key_id=to_id, batch_size=batch_size,
                on_failure=lambda c, pk, reason: err.write(f"VERIFY FAILED {c.label} pk={pk}: {reason}\n"),
            )

    _print_summary(result, elapsed, verify, out)
    audit_record(
        action=AUDIT_ACTION, success=result.exit_code == 0, actor=actor, subject_type="keyring",
        subject_id=keyring, reason="" if result.exit_code == 0 else "rows left under an old key",
        extra={
            "phase": "end", "keyring": keyring, "from_key_ids": result.from_key_ids, "to_key_id": to_id,
            "rotated": result.total("rotated"), "changed_during_run": result.total("changed"),
            "failed": result.total("failed"), "remaining": result.total("remaining"),
            "failed_pks": [f"{c.label}:{pk}"[:200] for c in result.columns for pk, _ in c.failures][:20],
            "verify_failures": result.verify_failures, "shard": str(shard),
            "seconds": round(elapsed, 2),
        },
    )
    return result


def _print_dry_run(result: RotationResult, to_id: str, out) -> None:
    for col in result.columns:
        would = sum(n for kid, n in col.before.items() if kid != to_id)
        counts = ", ".join(f"{kid}: {n}" for kid, n in sorted(col.before.items())) or "no rows"
        out.write(f"  {col.label}: {counts} -> would rotate {would}\n")


def _print_summary(result: RotationResult, elapsed: float, verify: bool, out) -> None:
    rotated = result.total("rotated")
    rate = rotated / elapsed if elapsed > 0 else 0.0
    for col in result.columns:
        out.write(
            f"  {col.label}: rotated {col.rotated}, changed during run {col.changed}, "
            f"failed {col.failed}, left under an old key {col.remaining}\n"
        )
        for pk, reason in col.failures:
            out.write(f"    cannot decrypt pk={pk}: {reason}\n")
        if col.failed > len(col.failures):
            out.write(f"    ... and {col.failed - len(col.failures)} more (printed on stderr)\n")
    out.write(
        f"Summary: rotated {rotated} rows in {elapsed:.2f}s ({rate:,.0f} rows/s); "
        f"skipped (changed during run) {result.total('changed')}; "
        f"could not decrypt {result.total('failed')}; left under an old key {result.total('remaining')}"
        f"{f'; verify failures {result.verify_failures}' if verify else ''}.\n"
    )
    if result.exit_code == 0 and result.shard.count == 1:
        out.write(f"Every row of keyring '{result.keyring}' is under key id {result.to_key_id}.\n")
    elif result.total("failed"):
        out.write("Rows that cannot be decrypted were left as they are; see above. Exit 1.\n")
    elif result.total("remaining") and result.shard.count == 1:
        out.write(
            "Some rows were written under an old key during the run: a process still runs "
            "without the _NEXT key. Restart every process, then run this command again.\n"
        )
