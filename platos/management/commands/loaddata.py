"""loaddata that restores dumpdata's envelopes as they are (Django's own loaddata otherwise).

Encrypted columns serialise as envelopes (never plaintext). Only inside this command
is an envelope of a column accepted back into that same column unchanged; anywhere
else (forms, the API) envelope-shaped input is plaintext, so it cannot be used to
get a stolen ciphertext decrypted.
"""

from django.core.management.commands.loaddata import Command as DjangoLoaddata

from platos.core.fields import loading_fixtures


class Command(DjangoLoaddata):
    def handle(self, *fixture_labels, **options):
        with loading_fixtures():
            return super().handle(*fixture_labels, **options)
