"""The key canary: one small encrypted row per keyring, checked at boot.

A canary holds a known constant encrypted under the keyring's write key when it
was first written. If none of the configured keys of a keyring can decrypt it, the
process has been started with a well-formed but wrong key (swapped or mistyped):
we stop there, instead of failing later row by row, or worse, writing new rows
under a key that does not match the rest of the data.

The canary columns are ordinary encrypted fields, so they are in the rotation
registry (``platos.core.fields.encrypted_fields``) and every rotation re-encrypts them
with the rest of the keyring's data.
"""

from django.db import models

from platos.core.fields import EncryptedTextField
from platos.core.keys import KEYRING_VARIABLES
from platos.core.rowmodels import RowBoundModel
from platos.mfa_device import EncryptedTOTPDevice  # noqa: F401  (the admins' TOTP devices: platos app)

CANARY_PLAINTEXT = "platos key canary v1"


class KeyCanary(RowBoundModel):
    """One row per keyring; only the column of that row's keyring is filled.

    keyring: the keyring's name (``encryption``, ``messages``), also the primary key
        (a text primary key: rotation handles non-integer keys too).
    encryption_canary / messages_canary: ``CANARY_PLAINTEXT`` encrypted under the
        named keyring. An encrypted field is bound to one keyring, hence one column
        per keyring. Both are bound to the row's keyring (its primary key).
    """

    row_identity = ("keyring",)

    keyring = models.CharField(
        max_length=32, primary_key=True, choices=[(name, name) for name in KEYRING_VARIABLES]
    )
    encryption_canary = EncryptedTextField(keyring="encryption", null=True, blank=True)
    messages_canary = EncryptedTextField(keyring="messages", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "key"
        verbose_name_plural = "keys"

    def __str__(self) -> str:
        return f"canary of keyring {self.keyring}"

    @staticmethod
    def column_for(keyring: str) -> str:
        return f"{keyring}_canary"
