"""manage.py env_import project/environment FILE: import a .env file (``-`` reads stdin)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from secrets_app.management.commands._scope import environment_from_scope
from secrets_app.services import ImportRefused, env_vars_import
from secrets_app.services.dotenv_io import ON_CONFLICT


class Command(BaseCommand):
    help = ("Import a .env file into one environment: one transaction, one audit row per variable. "
            "With --on-conflict fail (the default) any invalid line or existing name writes nothing (exit 1).")

    def add_arguments(self, parser):
        parser.add_argument("scope", help="project/environment")
        parser.add_argument("file", help="a .env file, or - for standard input")
        parser.add_argument("--on-conflict", choices=ON_CONFLICT, default="fail")
        parser.add_argument("--dry-run", action="store_true", help="report only, write nothing")

    def handle(self, *args, scope, file, on_conflict, dry_run, **options):
        env = environment_from_scope(scope)
        if file == "-":
            text = sys.stdin.read()
        else:
            with open(file, encoding="utf-8") as handle:
                text = handle.read()
        try:
            report = env_vars_import(environment=env, dotenv=text, on_conflict=on_conflict, dry_run=dry_run,
                                     actor="system:env_import")
        except ImportRefused as exc:
            report = exc.report
            self._print(report)
            raise CommandError(str(exc), returncode=1) from None
        self._print(report)

    def _print(self, report):
        for item in report["invalid"]:
            self.stderr.write(f"line {item['line']}: {item['name'] or '?'}: {item['error']}")
        verb = "would create" if report["dry_run"] else "created"
        self.stdout.write(f"{verb} {len(report['created'])}, updated {len(report['updated'])}, "
                          f"skipped {len(report['skipped'])}, invalid {len(report['invalid'])}")
