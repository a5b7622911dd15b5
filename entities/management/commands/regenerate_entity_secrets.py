"""Step 1 of the compromised-ENCRYPTION_KEY runbook: a new service secret for every active entity.

Exit 0: done (or nothing to do); 2: misuse, nothing written (the service is not
available, a bad --grace-seconds, the confirmation refused). The same codes as the
rotation commands. ``rotate_encryption_key --regenerate-entity-secrets`` calls this
command (with the stealth option ``actor``, so the audit rows name that command).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from entities.models import ConnectedEntity
from platos.rotation.command import EXIT_MISUSE, command_actor

UNAVAILABLE = (
    "entities.services.entity_secret_regenerate_all is not available in this build, so entity "
    "secrets cannot be regenerated here. Nothing was written. Regenerate them from the admin."
)


class Command(BaseCommand):
    help = (
        "Regenerate the service secret of every active connected entity (step 1 when ENCRYPTION_KEY "
        "is compromised: customers' backends hold the old secrets). Each entity is its own transaction "
        "and audit row. The new secrets are shown nowhere: regenerate an entity in the admin to reveal "
        "one for its backend. Exit 0: done; 2: misuse (nothing written)."
    )
    # Only rotate_encryption_key passes it (through call_command): the audit actor.
    stealth_options = ("actor",)

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count the entities; write nothing")
        parser.add_argument(
            "--grace-seconds", type=int, default=0,
            help="keep each old secret valid this long (0-86400, default 0: invalid at once; keep 0 "
                 "when the key is compromised)",
        )
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive",
            help="do not ask for confirmation",
        )

    def handle(self, *args, **options):
        # Resolved at run time so that a build without the service is refused (exit 2),
        # not a traceback.
        try:
            from entities.services import entity_secret_regenerate_all
        except ImportError:
            raise CommandError(UNAVAILABLE, returncode=EXIT_MISUSE) from None
        active = ConnectedEntity.objects.filter(status=ConnectedEntity.Status.ACTIVE).count()
        if options["dry_run"]:
            self.stdout.write(f"Dry run: would regenerate the service secret of {active} active entities.")
            return
        if settings.PLATOS_KEYRINGS["encryption"].next is None:
            self.stderr.write(
                "Note: ENCRYPTION_KEY_NEXT is not set, so the new secrets are written under "
                "ENCRYPTION_KEY. If that key is compromised, rotate it next (rotate_encryption_key)."
            )
        if options["interactive"] and not self._confirmed(active):
            raise CommandError("Cancelled. Nothing was written.", returncode=EXIT_MISUSE)
        actor = options.get("actor") or command_actor("regenerate_entity_secrets")
        try:
            done = entity_secret_regenerate_all(actor=actor, **self._grace(options))
        except ValidationError as exc:  # raised before the first entity is written
            raise CommandError(f"{'; '.join(exc.messages)}. Nothing was written.", returncode=EXIT_MISUSE) from None
        self.stdout.write(f"Entity service secrets regenerated: {done}.")
        if done:
            grace = options["grace_seconds"]
            self.stdout.write(
                (f"The old secrets stay valid for {grace} s. " if grace else "The old secrets are refused now. ")
                + "The new ones are shown nowhere: regenerate each entity in the admin to reveal one "
                "for its backend."
            )

    @staticmethod
    def _grace(options) -> dict:
        # Only passed when asked for, so the call stays the one rotate_encryption_key made.
        return {"grace_seconds": options["grace_seconds"]} if options["grace_seconds"] else {}

    def _confirmed(self, active: int) -> bool:
        answer = input(
            f"This replaces the service secret of {active} active entities; their backends are refused "
            "until they get the new one. Type 'yes' to continue: "
        )
        return answer.strip().lower() == "yes"
