"""manage.py env_export project/environment --reason WHY [--output FILE]: the environment as .env."""

import os

from django.core.management.base import BaseCommand

from secrets_app.management.commands._scope import environment_from_scope
from secrets_app.services import env_vars_export


class Command(BaseCommand):
    help = ("Write one environment's variables as a .env file (provider-key secrets left out). "
            "Audited as one secret.export row naming the variables.")

    def add_arguments(self, parser):
        parser.add_argument("scope", help="project/environment")
        parser.add_argument("--reason", required=True, help="why; recorded in the audit row")
        parser.add_argument("--output", help="a file to write (created with mode 0600); default stdout")

    def handle(self, *args, scope, reason, output, **options):
        env = environment_from_scope(scope)
        text = env_vars_export(environment=env, reason=reason, actor="system:env_export")
        if output is None:
            self.stdout.write(text, ending="")
            return
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        self.stderr.write(f"wrote {text.count(chr(10))} variables' lines to {output}")
