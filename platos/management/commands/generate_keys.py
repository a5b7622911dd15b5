from django.core.management.base import BaseCommand, CommandError

from platos.core.keygen import main


class Command(BaseCommand):
    """`manage.py generate_keys` itself is served by manage.py before settings load;
    this command is the same code for call_command() and an already-configured process."""

    help = (
        "Print fresh ENCRYPTION_KEY, PLATOS_MESSAGE_ENCRYPTION_KEY and DJANGO_SECRET_KEY lines "
        "(--write FILE adds missing ones and never overwrites)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--write", metavar="FILE")
        parser.add_argument("--dev", action="store_true")

    def handle(self, *args, **options):
        argv = ["--write", options["write"]] if options.get("write") else []
        if options.get("dev"):
            argv.append("--dev")
        if main(argv, out=self.stdout._out):
            raise CommandError("generate_keys failed")
