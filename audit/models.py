"""The audit log: one row per governed action. Never a secret value."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """One governed action (a secret read, a write, a reveal, a rotation run, ...).

    ``actor`` is kept as text so the row still says who acted after the user is
    deleted; ``actor_user`` is a reference that never cascades (no DB constraint,
    DO_NOTHING): deleting a user must not delete or rewrite audit history.
    """

    ts = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=64, db_index=True, help_text="dotted slug, e.g. secret.read")
    actor = models.CharField(max_length=150, blank=True, help_text="username or system:<name>")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    key = models.CharField(max_length=200, blank=True, help_text="the secret's name, never its value")
    scope = models.CharField(max_length=200, blank=True, db_index=True, help_text="project/environment")
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    success = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-ts", "-id"]
        indexes = [
            models.Index(fields=["action", "ts"], name="audit_action_ts"),
            models.Index(fields=["scope", "ts"], name="audit_scope_ts"),
            models.Index(fields=["actor", "ts"], name="audit_actor_ts"),
            models.Index(fields=["key", "ts"], name="audit_key_ts"),
        ]

    def __str__(self) -> str:
        outcome = "ok" if self.success else "failed"
        return f"{self.ts:%Y-%m-%d %H:%M:%S} {self.action} {self.key} {outcome}"
