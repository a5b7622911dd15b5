"""API tokens: django-rest-knox's token model, extended with a name and a last-used time.

knox stores only ``digest`` (SHA-512 of the whole token) and ``token_key`` (its first
15 characters, ``plt_`` + 11 hex: what lookups and the admin use). The token itself
is shown once, when it is made, and never stored.
"""

from django.db import models
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class ApiToken(AbstractAuthToken):
    """One API token of one owner.

    user: the owner. A person, or (for machine identities) the user row that backs a
        service account: a token authenticates as its owner either way.
    name: what the owner calls it (``ci``, ``laptop``).
    token_key: the displayable prefix (``plt_`` + 11 hex); never enough to authenticate.
    digest: knox's hash of the token. Unique, but not the primary key: ids go into URLs
        (the API, the admin), digests never do.
    expiry: when it stops authenticating (at most 365 days after creation).
    last_used_at: the last successful authentication (updated at most once a minute).
    """

    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=100)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…)"

    @property
    def prefix(self) -> str:
        return self.token_key
