"""The audit log: one row per governed action. Never a secret value."""

from django.conf import settings
from django.db import models
from django.utils import timezone

# prev_hash of the first row ever written (and of the first row after a purge
# that removed every row): 64 zeros.
GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One governed action (a secret read, a write, a reveal, a rotation run, ...).

    ``actor`` is kept as text so the row still says who acted after the user is
    deleted; ``actor_user`` is a reference that never cascades (no DB constraint,
    DO_NOTHING): deleting a user must not delete or rewrite audit history.

    Rows are append-only and chained: ``row_hash`` is SHA-256 over the row's
    content and ``prev_hash`` (the ``row_hash`` of the row before it in id order);
    see ``audit.chain``. ``project`` is the part of ``scope`` before the ``/``,
    stored so "rows of my projects" is an indexed equality, not a LIKE prefix.
    """

    ts = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=64, help_text="dotted slug, e.g. secret.read")
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
    scope = models.CharField(max_length=200, blank=True, help_text="project/environment")
    project = models.CharField(max_length=63, blank=True, editable=False, help_text="project part of scope")
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    success = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False, help_text="row_hash of the previous row")
    row_hash = models.CharField(max_length=64, editable=False, help_text="SHA-256 of this row + prev_hash")
    chain = models.PositiveSmallIntegerField(
        default=0, db_default=0, editable=False, help_text="the lane (interleaved chain) this row links into"
    )

    class Meta:
        ordering = ["-ts", "-id"]
        indexes = [
            models.Index(fields=["action", "ts"], name="audit_action_ts"),
            models.Index(fields=["scope", "ts"], name="audit_scope_ts"),
            models.Index(fields=["actor", "ts"], name="audit_actor_ts"),
            models.Index(fields=["key", "ts"], name="audit_key_ts"),
            models.Index(fields=["project", "ts"], name="audit_project_ts"),
            models.Index(fields=["success", "ts"], name="audit_success_ts"),
            models.Index(fields=["chain", "id"], name="audit_chain_id"),
        ]

    def __str__(self) -> str:
        outcome = "ok" if self.success else "failed"
        return f"{self.ts:%Y-%m-%d %H:%M:%S} {self.action} {self.key} {outcome}"
