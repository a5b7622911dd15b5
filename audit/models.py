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
    ``project_id`` is that project's primary key when the row was written: a project
    deleted and re-created with the same slug is another project, with another id.
    It is a plain integer, not a foreign key (the store sits above this app, and
    history must outlive the project); NULL for rows without a project scope, for a
    scope naming no project, and for rows written before the column existed.
    """

    class Action(models.TextChoices):
        """Every action the log records; ``audit_record`` refuses any other.

        The stored value is the dotted slug (``secret.read``), which is also what the
        admin, the API and the CSV show. The fields carry no ``choices=`` on purpose:
        the admin would then display the label instead of the slug operators search for.
        """

        SECRET_READ = "secret.read", "secret read"
        SECRET_WRITE = "secret.write", "secret written"
        SECRET_DELETE = "secret.delete", "secret deleted"
        SECRET_REVEAL = "secret.reveal", "secret revealed to a person"
        SECRET_ROLLBACK = "secret.rollback", "secret rolled back to a previous version"
        SECRET_VERSION_DESTROY = "secret.version.destroy", "previous secret value destroyed"
        SECRET_EXPORT = "secret.export", "secrets exported as .env"
        PROVIDER_KEY_CREATE = "provider_key.create", "provider key created"
        PROVIDER_KEY_ROTATE = "provider_key.rotate", "provider key rotated"
        PROVIDER_KEY_DISABLE = "provider_key.disable", "provider key disabled"
        PROVIDER_KEY_ENABLE = "provider_key.enable", "provider key enabled"
        PROVIDER_KEY_REVOKE = "provider_key.revoke", "provider key revoked"
        PROVIDER_KEY_DELETE = "provider_key.delete", "provider key deleted"
        PROVIDER_KEY_SET_DEFAULT = "provider_key.set_default", "provider key made the default"
        PROVIDER_KEY_TEST = "provider_key.test", "provider key tested"
        ENTITY_CREATE = "entity.create", "entity created"
        ENTITY_UPDATE = "entity.update", "entity updated"
        ENTITY_DISABLE = "entity.disable", "entity disabled"
        ENTITY_SECRET_REGENERATE = "entity.secret.regenerate", "entity secret regenerated"
        ENTITY_SECRET_REVEAL = "entity.secret.reveal", "entity secret revealed (one time)"
        ENTITY_AUTH_FAILED = "entity.auth.failed", "entity request refused"
        ENTITY_AUTH_V1_ACCEPTED = "entity.auth.v1_accepted", "entity request accepted with a v1 signature"
        MESSAGE_PLAINTEXT_VIEW = "message.plaintext.view", "conversation plaintext shown in the admin"
        KEYS_ROTATION_RUN = "keys.rotation.run", "encryption key rotation run"
        AUDIT_EXPORT = "audit.export", "audit log exported"
        AUDIT_PURGE = "audit.purge", "old audit rows purged"
        AUDIT_RECHAIN = "audit.rechain", "audit rows re-chained by a data migration"
        TOKEN_CREATE = "token.create", "API token created"
        TOKEN_REVOKE = "token.revoke", "API token revoked"
        TOKEN_AUTH_FAILED = "token.auth.failed", "API token refused"
        AUTH_THROTTLED = "auth.throttled", "authentication attempts over the rate limit (one row a window)"
        ADMIN_LOGIN = "admin.login", "admin login"
        ADMIN_LOGOUT = "admin.logout", "admin logout"
        ADMIN_LOGIN_FAILED = "admin.login.failed", "admin login refused"
        ADMIN_LOCKED_OUT = "admin.login.locked_out", "admin login locked out"
        ADMIN_MFA_ENROL = "admin.mfa.enrol", "second factor enrolled"
        ADMIN_MFA_FAILED = "admin.mfa.failed", "second factor code refused"
        ADMIN_MFA_RESET = "admin.mfa.reset", "second factor device deleted (its owner enrols again)"
        PROJECT_CHANGE = "project.change", "project changed"
        MEMBERSHIP_CHANGE = "membership.change", "project membership or role changed"
        USER_CHANGE = "user.change", "user changed"
        GROUP_CHANGE = "group.change", "group (its permissions) changed"
        SERVICE_ACCOUNT_CREATE = "service_account.create", "service account created"
        SERVICE_ACCOUNT_DISABLE = "service_account.disable", "service account disabled"

    class Subject(models.TextChoices):
        """What a row is about (``subject_type``); ``subject_id`` is that thing's primary key.

        ``audit_record`` refuses any other value (an empty subject is allowed).
        Rows about a stored secret also name it in ``key``; other subjects leave
        ``key`` empty (an entity is named by its id here and its slug in ``extra``).
        """

        ENV_VAR = "env_var", "environment variable"
        PROVIDER_KEY = "provider_key", "provider key"
        ENTITY = "entity", "connected entity"
        THREAD = "thread", "conversation thread"
        MESSAGE = "message", "message"
        TOOL_CALL = "tool_call", "tool call"
        SAFETY_EVENT = "safety_event", "safety event"
        KEYRING = "keyring", "keyring (encryption keys)"
        API_TOKEN = "api_token", "API token"
        THROTTLE = "throttle", "rate-limit window (client address or entity)"
        PROJECT = "project", "project"
        ENVIRONMENT = "environment", "environment"
        MEMBERSHIP = "membership", "project membership"
        USER = "user", "user"
        GROUP = "group", "group of users"
        MFA_DEVICE = "mfa_device", "second-factor device"
        SERVICE_ACCOUNT = "service_account", "service account (machine identity)"

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
    project_id = models.BigIntegerField(
        null=True, blank=True, editable=False, help_text="id of that project when the row was written"
    )
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
            models.Index(fields=["project_id", "ts"], name="audit_project_id_ts"),
            models.Index(fields=["success", "ts"], name="audit_success_ts"),
            models.Index(fields=["chain", "id"], name="audit_chain_id"),
        ]

    def __str__(self) -> str:
        outcome = "ok" if self.success else "failed"
        return f"{self.ts:%Y-%m-%d %H:%M:%S} {self.action} {self.key} {outcome}"
