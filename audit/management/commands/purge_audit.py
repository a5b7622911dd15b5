"""Delete audit rows older than PLATOS_ADMIN_AUDIT_RETENTION_DAYS, keeping the chain verifiable."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_purge


class Command(BaseCommand):
    help = (
        "Delete audit rows older than the retention period (PLATOS_ADMIN_AUDIT_RETENTION_DAYS, "
        "default 365) in batches; each batch records an audit.purge row."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="override the retention period")
        parser.add_argument("--batch-size", type=int, default=5000, help="rows deleted per transaction")

    def handle(self, *args, days, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            result = audit_purge(older_than_days=days, batch_size=batch_size)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"purged {result.deleted} audit rows older than {result.cutoff:%Y-%m-%d %H:%M:%S %Z} "
            f"in {result.batches} batch(es)"
        )
