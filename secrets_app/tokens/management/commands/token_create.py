"""``manage.py token_create --user NAME [--name N] [--expires-days D]``: prints the token once."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from secrets_app.tokens.services import DEFAULT_EXPIRES_DAYS, token_create


class Command(BaseCommand):
    help = "Create an API token (plt_...) for a user and print it once (bootstrap, scripts)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username of the owner")
        parser.add_argument("--name", default="cli", help="a label for the token (default: cli)")
        parser.add_argument("--expires-days", type=int, default=DEFAULT_EXPIRES_DAYS,
                            help=f"1-365 (default {DEFAULT_EXPIRES_DAYS})")

    def handle(self, *args, user, name, expires_days, **options):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"no user named {user!r}")
        try:
            token, plaintext = token_create(user=owner, name=name, expires_in_days=expires_days,
                                            actor="system:token_create")
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        self.stderr.write(f"Token {token.name!r} for {owner.get_username()} (id {token.pk}), "
                          f"expires {token.expiry:%Y-%m-%d}. It is shown once:")
        self.stdout.write(plaintext)
