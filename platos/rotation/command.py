"""What rotate_message_key and rotate_encryption_key share: options, exit codes, output, audit.

The service (``platos/rotation/service.py``) only checks, rotates and returns a
result; this command layer prints it, names the actor and writes the audit rows.
"""

from __future__ import annotations

import getpass
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, InterfaceError, OperationalError, connections

from audit.models import AuditEvent
from audit.services import audit_record
from platos.core.envelope import legacy_plaintext_allowed
from platos.rotation.engine import DEFAULT_BATCH_SIZE, RotationMisuse, RotationResult, Shard
from platos.rotation.progress import Progress
from platos.rotation.service import RotationPlan, key_rotation_plan, key_rotation_run

EXIT_OK, EXIT_UNDECRYPTABLE, EXIT_MISUSE, EXIT_INTERRUPTED = 0, 1, 2, 3
# The database went away (a restart, a failover, a killed backend): each batch is its
# own transaction, so every row is under the old or the new key and a rerun finishes.
CONNECTION_LOST = (OperationalError, InterfaceError)
AUDIT_ACTION = AuditEvent.Action.KEYS_ROTATION_RUN


def command_actor(command: str) -> str:
    """The audit actor of an operator's management command: the command and the OS user."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return f"system:{command} (os user {who})"


class RotateKeyCommand(BaseCommand):
    keyring: str = ""
    # The rotation verifies the canary itself (exit 2), so a wrong key reads as
    # misuse rather than as a generic system-check failure.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
            help=f"rows per batch and per transaction (default {DEFAULT_BATCH_SIZE})",
        )
        parser.add_argument("--dry-run", action="store_true", help="print rows per key id and what would change")
        parser.add_argument("--verify", action="store_true", help="afterwards decrypt every row under the next key")
        parser.add_argument("--shard", metavar="K/N", help="this worker's share: K of N workers (1-based)")
        parser.add_argument(
            "--progress-interval", type=float, default=5.0, help="seconds between progress log lines (no terminal)"
        )
        parser.add_argument("--database", default="default")

    def before_rotation(self, options):
        """Hook for rotate_encryption_key: may print, refuse (CommandError), and return a
        callable run once the start checks pass, before the first write (dry run included)."""
        return None

    @property
    def command_name(self) -> str:
        return self.__module__.rsplit(".", 1)[-1]

    def handle(self, *args, **options):
        try:
            shard = Shard.parse(options["shard"])
            before_start = self.before_rotation(options)
            plan = key_rotation_plan(
                keyring=self.keyring, batch_size=options["batch_size"], dry_run=options["dry_run"],
                shard=shard, using=options["database"],
            )
        except RotationMisuse as exc:
            raise CommandError(str(exc), returncode=EXIT_MISUSE) from None
        except CONNECTION_LOST as exc:
            raise _cannot_reach(self.keyring, exc) from None
        self.stdout.write(_header(plan))
        if before_start is not None:
            before_start()
        if options["dry_run"]:
            _print_dry_run(plan.result, self.stdout)
            return
        result = self._rotate(plan, options)
        if result.exit_code:
            raise CommandError(
                f"keyring '{self.keyring}': not every row is under key id {result.to_key_id} "
                "(see the summary above)",
                returncode=EXIT_UNDECRYPTABLE,
            )

    def _rotate(self, plan: RotationPlan, options) -> RotationResult:
        result, shard, err = plan.result, plan.shard, self.stderr._out
        actor = command_actor(self.command_name)
        run_id = uuid.uuid4().hex  # pairs this run's start and end rows (key_status reads them)
        try:
            audit_record(
                action=AUDIT_ACTION, success=True, actor=actor,
                subject_type=AuditEvent.Subject.KEYRING, subject_id=self.keyring,
                extra={"phase": "start", "run": run_id, "keyring": self.keyring,
                       "from_key_ids": result.from_key_ids, "to_key_id": result.to_key_id,
                       "rows_pending": plan.rows_pending, "shard": str(shard)},
            )
        except CONNECTION_LOST as exc:
            raise _cannot_reach(self.keyring, exc) from None
        progress = Progress(total=plan.rows_pending, stream=err, interval=options["progress_interval"],
                            label=self.keyring)
        try:
            result = key_rotation_run(
                plan=plan, verify=options["verify"], on_batch=progress.advance,
                on_failure=lambda column, pk, reason: err.write(f"FAILED {column.label} pk={pk}: {reason}\n"),
                on_verify_failure=lambda c, pk, reason: err.write(f"VERIFY FAILED {c.label} pk={pk}: {reason}\n"),
            )
        except CONNECTION_LOST as exc:
            self._interrupted(exc, actor=actor, run_id=run_id, shard=shard, using=options["database"])
        progress.finish()
        _print_summary(result, self.stdout)
        ok = result.exit_code == 0
        audit_record(
            action=AUDIT_ACTION, success=ok, actor=actor, subject_type=AuditEvent.Subject.KEYRING,
            subject_id=self.keyring, reason="" if ok else "rows left under an old key",
            extra={
                "phase": "end", "run": run_id, "outcome": "finished" if ok else "rows left",
                "keyring": self.keyring, "from_key_ids": result.from_key_ids,
                "to_key_id": result.to_key_id, "rotated": result.total("rotated"),
                "changed_during_run": result.total("changed"), "failed": result.total("failed"),
                "remaining": result.total("remaining"),
                "failed_pks": [f"{c.label}:{pk}"[:200] for c in result.columns for pk, _ in c.failures][:20],
                "verify_failures": result.verify_failures, "shard": str(shard),
                "seconds": round(result.seconds, 2),
            },
        )
        return result

    def _interrupted(self, exc: Exception, *, actor: str, run_id: str, shard: Shard, using: str):
        """The connection died mid-run: record the end on a fresh connection if the database
        is back, and stop with one line and exit 3. Without the end row (the database is
        still down, or the process was killed) key_status shows the run as unfinished."""
        for alias in {using, "default"}:
            connections[alias].close()  # a dead connection is not reused; the next query reconnects
        recorded = "recorded as interrupted in the audit log"
        try:
            audit_record(
                action=AUDIT_ACTION, success=False, actor=actor, subject_type=AuditEvent.Subject.KEYRING,
                subject_id=self.keyring, reason="interrupted: the database connection was lost",
                extra={"phase": "end", "run": run_id, "outcome": "interrupted", "keyring": self.keyring,
                       "error": _db_error(exc), "shard": str(shard)},
            )
        except DatabaseError:
            recorded = "not recorded (the database is still unreachable): key_status shows it as unfinished"
        raise CommandError(
            f"keyring '{self.keyring}': rotation interrupted: the database connection was lost "
            f"({_db_error(exc)}). Nothing is lost (each batch commits whole; every row is under the "
            f"old or the new key): run it again. Run {recorded}. Exit {EXIT_INTERRUPTED}.",
            returncode=EXIT_INTERRUPTED,
        ) from None


def _cannot_reach(keyring: str, exc: Exception) -> CommandError:
    """The database went away before the first write (the checks, the count, the start row)."""
    return CommandError(
        f"keyring '{keyring}': cannot reach the database ({_db_error(exc)}). Nothing was written: "
        f"run it again when the database is back. Exit {EXIT_INTERRUPTED}.",
        returncode=EXIT_INTERRUPTED,
    )


def _db_error(exc: Exception) -> str:
    """The driver's first line (e.g. 'terminating connection due to administrator command'):
    a connection error names the server, never a row's value."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:160]}"


def _header(plan: RotationPlan) -> str:
    result, shard = plan.result, plan.shard
    verb = "re-sealing column-bound rows row-bound under" if result.reseal_only else "rotating to"
    return (
        f"Keyring '{result.keyring}': {verb} key id {result.to_key_id} (writes), from "
        f"{', '.join(result.from_key_ids) or 'no other key id'}"
        f"{' + legacy plaintext' if legacy_plaintext_allowed() else ''}; "
        f"{len(plan.columns)} columns, {plan.rows_pending} rows to rotate"
        f"{f', shard {shard}' if shard.count > 1 else ''}"
        f"{' (dry run: nothing will be written)' if result.dry_run else ''}.\n"
    )


def _print_dry_run(result: RotationResult, out) -> None:
    for col in result.columns:
        would = col.pending
        counts = ", ".join(f"{kid}: {n}" for kid, n in sorted(col.before.items())) or "no rows"
        out.write(f"  {col.label}: {counts} -> would rotate {would}\n")


def _print_summary(result: RotationResult, out) -> None:
    rotated, elapsed = result.total("rotated"), result.seconds
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
        f"{f'; verify failures {result.verify_failures}' if result.verified else ''}.\n"
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
