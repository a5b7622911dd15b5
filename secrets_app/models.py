"""Scopes (projects and environments) and who may act in them."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from platos.core.fields import EncryptedTextField
from platos.core.rowmodels import RowBoundModel

slug_validator = RegexValidator(r"\A[a-z0-9][a-z0-9-]{0,62}\Z", "lowercase letters, digits and '-'")


class Project(models.Model):
    """A tenant of the platform (e.g. ``acme``)."""

    slug = models.CharField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Environment(models.Model):
    """One environment of a project (e.g. ``production``). Written ``project/environment``."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="environments")
    slug = models.CharField(max_length=63, validators=[slug_validator])
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project__slug", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["project", "slug"], name="environment_unique_slug_per_project")
        ]

    def __str__(self) -> str:
        return self.scope

    @property
    def scope(self) -> str:
        return f"{self.project.slug}/{self.slug}"


class ProjectMembership(models.Model):
    """A user's role in a project. Django superusers see every project without one.

    viewer: reads the project (names and metadata of its store, its conversations);
    member: also writes its conversations; admin: also writes and reveals secrets.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", "admin"
        MEMBER = "member", "member"
        VIEWER = "viewer", "viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="membership_unique_user_project")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


env_name_validator = RegexValidator(
    r"\A[A-Z_][A-Z0-9_]*\Z", "upper-case letters, digits and '_', not starting with a digit"
)


class EnvironmentVariable(RowBoundModel):
    """The one secret store: a named, encrypted value in one environment.

    Provider keys, skill secrets, user-tool secrets and background-operation env all
    live here; there is no other place in the code base where a secret value is stored.
    Written only through ``secrets_app.services``; read at runtime by ``ScopedEnvService``.

    ``value`` is row-bound to (environment id, name, version): copied into another
    environment's variable, another variable or another version it does not decrypt. An
    environment belongs to exactly one project, so its id stands for project + environment.
    """

    row_identity = ("environment", "name", "version")

    class Kind(models.TextChoices):
        PROVIDER_KEY = "provider_key", "provider key"
        SKILL = "skill", "skill secret"
        TOOL = "tool", "user-tool secret"
        BACKGROUND = "background", "background operation"
        PLAIN = "plain", "plain"

    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="variables")
    name = models.CharField(max_length=128, validators=[env_name_validator])
    # NULL only after a revoke: the value is destroyed, the row stays for history.
    value = EncryptedTextField(keyring="encryption", null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PLAIN)
    version = models.PositiveIntegerField(default=1, help_text="bumped on every change of the value or kind")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["environment", "name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "name"], name="envvar_unique_name_per_environment")
        ]

    def __str__(self) -> str:
        return f"{self.name} in {self.environment}"  # never the value

    @property
    def is_set(self) -> bool:
        return self.value is not None


class ProviderKey(models.Model):
    """BYOK metadata. The secret itself is the env var named ``env_var_name``; never here."""

    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ANTHROPIC = "anthropic", "Anthropic"
        GOOGLE = "google", "Google"
        MISTRAL = "mistral", "Mistral"
        AZURE_OPENAI = "azure_openai", "Azure OpenAI"
        CUSTOM = "custom", "custom"

    class Status(models.TextChoices):
        ACTIVE = "active", "active"
        DISABLED = "disabled", "disabled"
        REVOKED = "revoked", "revoked"

    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="provider_keys")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    label = models.CharField(max_length=100, help_text="unique per environment; read as provider_key:<label>")
    env_var_name = models.CharField(max_length=128, validators=[env_name_validator])
    is_default = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    last_used_at = models.DateTimeField(null=True, blank=True, help_text="set when the runtime reads the key")
    rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["environment", "provider", "label"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "label"], name="providerkey_unique_label"),
            models.UniqueConstraint(fields=["environment", "env_var_name"], name="providerkey_unique_env_var"),
            # At most one default per environment and provider, enforced by the database.
            models.UniqueConstraint(
                fields=["environment", "provider"],
                condition=models.Q(is_default=True),
                name="providerkey_one_default_per_provider",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.provider}, {self.status})"


skill_slug_validator = RegexValidator(r"\A[a-z0-9][a-z0-9_-]{0,62}\Z", "lowercase letters, digits, '-' and '_'")


def _validate_required_env(value) -> None:
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise ValidationError("required_env must be a list of variable names")
    for name in value:
        env_name_validator(name)
    if len(set(value)) != len(value):
        raise ValidationError("required_env lists a name twice")


class Skill(models.Model):
    """A skill of the agent runtime and the env var *names* it needs (never values)."""

    slug = models.CharField(max_length=63, unique=True, validators=[skill_slug_validator])
    name = models.CharField(max_length=200)
    required_env = models.JSONField(default=list, blank=True, validators=[_validate_required_env])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class EnvironmentVariableVersion(RowBoundModel):
    """A previous value of a variable, kept when the value changed (Vault KV v2's versions).

    ``version`` is the variable's version number while it held ``value``; ``created_at``
    and ``created_by`` say who wrote that value and when, ``archived_at`` when it was
    replaced. ``value`` is an ordinary encrypted column (keyring ``encryption``), so the
    rotation commands and ``key_status`` cover it through the field registry. It is NULL
    once destroyed (``destroyed_at``, as Vault's destroy: metadata stays) and when the
    replaced value could not be decrypted (nothing to keep). Only the newest
    ``PLATOS_SECRET_VERSIONS_KEPT`` rows of a variable are kept. ``value`` is row-bound to
    (variable id, version): the pair is unique and known before the insert.
    """

    row_identity = ("variable", "version")

    variable = models.ForeignKey(EnvironmentVariable, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    value = EncryptedTextField(keyring="encryption", null=True, blank=True)
    kind = models.CharField(max_length=20, choices=EnvironmentVariable.Kind.choices)
    created_at = models.DateTimeField(help_text="when this value was written")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(default=timezone.now, help_text="when a newer value replaced it")
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    destroyed_at = models.DateTimeField(null=True, blank=True, help_text="value wiped for good")

    class Meta:
        ordering = ["variable", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["variable", "version"], name="envvarversion_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.variable_id} v{self.version}"  # never the value


class ServiceAccount(models.Model):
    """A machine identity of one project (the agent runtime, a worker), granted read on
    some of the project's environments; it authenticates with its own ``plt_`` tokens.

    user: the Django user that backs it and owns its tokens (unusable password, never
        staff). Human endpoints refuse that user; only ``/agent/v1/runtime/`` serves it.
    environments: where it may read (every variable, through the runtime API).
    is_active: False once disabled; the user is then inactive too, so its tokens fail.
    """

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="service_accounts")
    name = models.CharField(max_length=63, validators=[slug_validator])
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_account")
    environments = models.ManyToManyField(Environment, related_name="service_accounts")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["project__slug", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="serviceaccount_unique_name_per_project")
        ]

    def __str__(self) -> str:
        return self.actor

    @property
    def actor(self) -> str:
        """How audit rows name it: ``service_account:<project>/<name>``."""
        return f"service_account:{self.project.slug}/{self.name}"
