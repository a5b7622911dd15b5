import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Create the first admin user with a random password and print its login once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    @transaction.atomic
    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                "An admin user already exists (its password was printed when it was made; "
                f"reset it with `python manage.py changepassword {username}`)."
            )
            return
        password = secrets.token_urlsafe(18)
        User.objects.create_superuser(username=username, email="", password=password)
        # Printed to the operator's terminal once; never logged.
        self.stdout.write(
            self.style.SUCCESS("First admin created. This password is shown once; save it now:\n")
            + f"  url:      {settings.PLATOS_PUBLIC_URL}/admin/\n  username: {username}\n  password: {password}\n"
        )
