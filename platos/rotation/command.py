"""What rotate_message_key and rotate_encryption_key share: options, exit codes, output."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from platos.rotation.engine import DEFAULT_BATCH_SIZE, RotationMisuse, Shard
from platos.rotation.service import key_rotation_run

EXIT_OK, EXIT_UNDECRYPTABLE, EXIT_MISUSE = 0, 1, 2


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
        callable run after the start checks pass, before the first write."""
        return None

    def handle(self, *args, **options):
        try:
            shard = Shard.parse(options["shard"])
            before_start = self.before_rotation(options)
            result = key_rotation_run(
                keyring=self.keyring,
                command=self.__module__.rsplit(".", 1)[-1],
                batch_size=options["batch_size"],
                dry_run=options["dry_run"],
                verify=options["verify"],
                shard=shard,
                out=self.stdout,
                err=self.stderr._out,
                progress_interval=options["progress_interval"],
                using=options["database"],
                before_start=before_start,
            )
        except RotationMisuse as exc:
            raise CommandError(str(exc), returncode=EXIT_MISUSE) from None
        if result.exit_code:
            raise CommandError(
                f"keyring '{self.keyring}': not every row is under key id {result.to_key_id} "
                "(see the summary above)",
                returncode=EXIT_UNDECRYPTABLE,
            )
