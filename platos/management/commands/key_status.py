import json

from django.core.management.base import BaseCommand

from platos.rotation.status import key_status, render_text


class Command(BaseCommand):
    help = (
        "Per keyring: configured key ids (which one writes), rows per key id per encrypted column, "
        "legacy plaintext rows, column-bound (pv1) vs row-bound (pv2) rows, and whether each key is "
        "safe to drop. --verify decrypts every row in its row. --json for scripts."
    )
    requires_system_checks: list = []  # must work exactly when the keys look wrong

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")
        parser.add_argument(
            "--verify", action="store_true",
            help="also decrypt every row in its row and count values that do not open there (moved or altered)",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        status = key_status(using=options["database"], verify=options["verify"])
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2, sort_keys=True))
        else:
            self.stdout.write(render_text(status), ending="")
