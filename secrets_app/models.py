"""Scopes (projects and environments) and who may act in them."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

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
    """A user's role in a project. Django superusers see every project without one."""

    class Role(models.TextChoices):
        ADMIN = "admin", "admin"
        MEMBER = "member", "member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="membership_unique_user_project")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"
