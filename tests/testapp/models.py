"""Models used only by the field tests (installed by platos.settings_test)."""

from django.db import models

from platos.fields import EncryptedJSONField, EncryptedTextField


class Note(models.Model):
    label = models.CharField(max_length=50, blank=True)
    body = EncryptedTextField(keyring="messages", null=True, blank=True)
    other = EncryptedTextField(keyring="messages", null=True, blank=True)
    data = EncryptedJSONField(keyring="encryption", null=True, blank=True)

    def __str__(self) -> str:
        return self.label or f"note {self.pk}"


class PlainNote(models.Model):
    """The same shape stored in a plain column: the benchmark baseline."""

    body = models.TextField()

    def __str__(self) -> str:
        return f"plain note {self.pk}"
