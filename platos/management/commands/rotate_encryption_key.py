from django.core.management import call_command

from platos.rotation.command import RotateKeyCommand, command_actor

COMPROMISED_KEY_ORDER = """\
If ENCRYPTION_KEY is (or may be) compromised, the order is (spec: "Rotate entity
secrets first, then the env key"):
  1. Regenerate every connected entity's service secret (customers' backends hold
     the old ones; re-encrypting an exposed secret under a new key does not help):
     manage.py regenerate_entity_secrets (or this command with --regenerate-entity-secrets),
     or regenerate them one by one.
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
            help="first run regenerate_entity_secrets (compromised key), once the rotation can start",
        )

    def before_rotation(self, options):
        self.stdout.write(COMPROMISED_KEY_ORDER)
        if not options["regenerate_entity_secrets"]:
            return None

        def regenerate() -> None:
            # Runs only once the rotation can start (ENCRYPTION_KEY_NEXT set, canary good);
            # a refusal (exit 2) stops this command before its first write.
            call_command(
                "regenerate_entity_secrets", dry_run=options["dry_run"], interactive=False,
                actor=command_actor(self.command_name), stdout=self.stdout._out, stderr=self.stderr._out,
            )
            if not options["dry_run"]:
                self.stdout.write("Now rotating the key.\n")

        return regenerate
