"""Models used only by the field tests (installed by platos.settings_test)."""

import uuid

from django.db import models
from django.utils import timezone

from platos.core.fields import EncryptedJSONField, EncryptedTextField


class Note(models.Model):
    """Column-bound on purpose (pv1): the field and rotation tests of the first version."""

    row_identity = None
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


class PlainMessage(models.Model):
    """messages_app.Message's shape with plain TextFields: the messages benchmark baseline.

    ``thread_id`` is a plain UUID column (no FK): this app has no migrations and is
    created before the migrated apps, so it cannot reference their tables.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread_id = models.UUIDField()
    sequence = models.PositiveIntegerField()
    role = models.CharField(max_length=16)
    content = models.TextField(null=True)  # noqa: DJ001 (mirrors Message: None != "")
    thinking_content = models.TextField(null=True)  # noqa: DJ001
    status = models.CharField(max_length=16, default="active")
    revision = models.PositiveIntegerField(default=1)
    edit_parent_id = models.UUIDField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["thread_id", "status", "sequence"], name="plainmsg_thread_status_seq")]

    def __str__(self) -> str:
        return f"plain message {self.pk}"
