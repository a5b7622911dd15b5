from django.core.management.base import CommandError

from platos.rotation.command import EXIT_MISUSE, RotateKeyCommand

COMPROMISED_KEY_ORDER = """\
If ENCRYPTION_KEY is (or may be) compromised, the order is (spec: "Rotate entity
secrets first, then the env key"):
  1. Regenerate every connected entity's service secret (customers' backends hold
     the old ones; re-encrypting an exposed secret under a new key does not help):
     run this command with --regenerate-entity-secrets, or regenerate them one by one.
  2. Hand the new secrets to each entity's backend (shown once on the initial-secret page).
  3. Re-encrypt everything else under ENCRYPTION_KEY_NEXT (this command).
  4. Swap: ENCRYPTION_KEY=<the next key>, drop ENCRYPTION_KEY_NEXT, restart every process.
"""


class Command(RotateKeyCommand):
    help = (
        "Re-encrypt every column of the 'encryption' keyring (secret store values, entity service "
        "secrets, ...) from ENCRYPTION_KEY to ENCRYPTION_KEY_NEXT. Resumable. Exit 0: every row under "
        "the next key; 1: some rows could not be decrypted; 2: misuse (nothing written)."
    )
    keyring = "encryption"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--regenerate-entity-secrets", action="store_true",
            help="first regenerate every connected entity's service secret (compromised key)",
        )

    def before_rotation(self, options):
        self.stdout.write(COMPROMISED_KEY_ORDER)
        if not options["regenerate_entity_secrets"]:
            return None
        try:
            from entities.services import entity_secret_regenerate_all
        except ImportError:
            raise CommandError(
                "--regenerate-entity-secrets: entities.services.entity_secret_regenerate_all is not "
                "available in this build, so entity secrets cannot be regenerated here. Nothing was "
                "written. Regenerate them from the admin, or run without the option.",
                returncode=EXIT_MISUSE,
            ) from None
        if options["dry_run"]:
            self.stdout.write("Dry run: would regenerate every entity service secret first.\n")
            return None

        def regenerate() -> None:
            # Runs only once the rotation can start (ENCRYPTION_KEY_NEXT set, canary good).
            from platos.rotation.service import _actor

            done = entity_secret_regenerate_all(actor=_actor("rotate_encryption_key"))
            count = f": {done}" if isinstance(done, int) else ""
            self.stdout.write(f"Entity service secrets regenerated{count}. Now rotating the key.\n")

        return regenerate
