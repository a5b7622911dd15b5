"""Conversations encrypted at rest: threads, messages (with revisions), tool calls, safety events.

Every column that can hold conversation text is an encrypted field on the
``"messages"`` keyring (``PLATOS_MESSAGE_ENCRYPTION_KEY``). What stays plaintext
is metadata someone must be able to filter on without the key: ids, roles,
statuses, detector/action/severity, user ids, timestamps and the scope slugs.
Thread titles are plaintext too (the issue lists them with the metadata); callers
must not put message text in a title.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from platos.core.fields import EncryptedJSONField, EncryptedTextField
from platos.core.rowmodels import RowBoundModel

KEYRING = "messages"


class Thread(models.Model):
    """A conversation.

    ``project``/``environment`` are its scope, the secret store's: the project's roles
    decide who reads (any membership) and writes (member, admin) it. A thread without a
    project is visible to superusers only. A fork records the thread and message it was
    copied from, and stays in its scope.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    project = models.ForeignKey("secrets_app.Project", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="threads")
    environment = models.ForeignKey("secrets_app.Environment", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="threads", help_text="an environment of the thread's project")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    forked_from_thread = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks"
    )
    forked_from_message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.environment_id is not None and (
                self.project_id is None or self.environment.project_id != self.project_id):
            raise ValidationError({"environment": "must be an environment of the thread's project"})

    @property
    def scope(self) -> str:
        """``project`` or ``project/environment`` (empty when unscoped), as audit rows write it."""
        if self.project_id is None:
            return ""
        return self.environment.scope if self.environment_id else self.project.slug


class Message(RowBoundModel):
    """One message of a thread.

    ``sequence`` orders a thread: every new message, a new revision included, takes
    the next number, so the active messages of a thread read in order and
    ``include_edited`` shows the history as it happened. An edit makes a new row
    (``revision`` + 1, ``edit_parent`` = the row it replaces); the old row and every
    message after it become ``edited_out`` and are never deleted.
    """

    class Role(models.TextChoices):
        SYSTEM = "system"
        USER = "user"
        ASSISTANT = "assistant"
        TOOL = "tool"

    class Status(models.TextChoices):
        ACTIVE = "active"
        EDITED_OUT = "edited_out"

    row_identity = ("id",)  # content is bound to the message (a UUID assigned before insert)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    sequence = models.PositiveIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices)
    # blank=True: an empty message is a message (it is encrypted like any text).
    content = EncryptedTextField(keyring=KEYRING, blank=True)
    thinking_content = EncryptedTextField(keyring=KEYRING, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    revision = models.PositiveIntegerField(default=1)
    edit_parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.RESTRICT, related_name="revisions"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["thread", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["thread", "sequence"], name="message_unique_thread_sequence"),
        ]
        indexes = [models.Index(fields=["thread", "status", "sequence"], name="message_thread_status_seq")]
        permissions = [
            ("view_message_plaintext", "Can see decrypted message, tool-call and safety-event text"),
        ]

    def __str__(self) -> str:  # never the content: this string reaches logs and admin history
        return f"{self.role} message #{self.sequence} r{self.revision} ({self.id})"


class ToolCall(RowBoundModel):
    """A tool call made in a message; ``arguments`` and ``result`` are encrypted JSON, bound to the call."""

    row_identity = ("id",)
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="tool_calls")
    tool_name = models.CharField(max_length=200)
    call_id = models.CharField(max_length=200, help_text="The id the model gave the call.")
    arguments = EncryptedJSONField(keyring=KEYRING, blank=True)
    result = EncryptedJSONField(keyring=KEYRING, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.tool_name} call {self.call_id}"


class SafetyEvent(RowBoundModel):
    """What a safety detector saw and did. ``detail``/``meta`` may quote the user: encrypted."""

    class Detector(models.TextChoices):
        PII = "pii"
        INJECTION = "injection"
        GROUNDED = "grounded"
        EXFILTRATION = "exfiltration"
        TOOL_PARAM = "tool_param"
        RATE_LIMIT = "rate_limit"
        BUDGET = "budget"
        PERMISSION = "permission"

    class Action(models.TextChoices):
        FLAG = "flag"
        REDACT = "redact"
        BLOCK = "block"
        WARN = "warn"

    class Severity(models.TextChoices):
        INFO = "info"
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"
        CRITICAL = "critical"

    row_identity = ("id",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="safety_events")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="safety_events"
    )
    # The user the event is about, as a plain id to filter on (not the user's data).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detector = models.CharField(max_length=16, choices=Detector.choices, db_index=True)
    action = models.CharField(max_length=8, choices=Action.choices, db_index=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, db_index=True)
    detail = EncryptedTextField(keyring=KEYRING, null=True, blank=True)
    meta = EncryptedJSONField(keyring=KEYRING, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.detector}/{self.action} ({self.severity}) {self.id}"


class PendingRerun(models.Model):
    """An edit-and-rerun waiting for the agent runtime: rerun the thread from ``message``."""

    class Status(models.TextChoices):
        PENDING = "pending"
        CLAIMED = "claimed"
        DONE = "done"
        CANCELLED = "cancelled"  # its revision was edited again before the runtime took it

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="pending_reruns")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="pending_rerun")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"rerun {self.id} ({self.status})"
