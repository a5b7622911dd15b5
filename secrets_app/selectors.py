"""Reads of scopes, filtered by what the user may see."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import Http404

from secrets_app.models import Environment, EnvironmentVariable, Project, ProjectMembership, ProviderKey, Skill


def project_list_for_user(*, user, role: str | None = None) -> QuerySet[Project]:
    """Projects the user belongs to (with at least ``role`` when given); all for superusers."""
    if user.is_superuser:
        return Project.objects.all()
    memberships = ProjectMembership.objects.filter(user=user)
    if role is not None:
        memberships = memberships.filter(role=role)
    return Project.objects.filter(pk__in=memberships.values("project_id"))


def environment_get_for_user(*, user, project: str, environment: str, role: str | None = None) -> Environment:
    """The environment ``project/environment`` if the user may see it; 404 otherwise.

    404 (not 403) for projects the user does not belong to: an outsider cannot
    tell a project that exists from one that does not. A member without the
    required ``role`` gets PermissionDenied (403).
    """
    env = (
        Environment.objects.select_related("project")
        .filter(project__in=project_list_for_user(user=user), project__slug=project, slug=environment)
        .first()
    )
    if env is None:
        raise Http404("No such project/environment.")
    if role is not None and not user.is_superuser:
        if not ProjectMembership.objects.filter(user=user, project=env.project, role=role).exists():
            raise PermissionDenied(f"This needs the {role} role in project {env.project.slug}.")
    return env


def env_var_list(*, environment: Environment) -> QuerySet[EnvironmentVariable]:
    """Variables of one environment: metadata only (the value column is deferred, never decrypted)."""
    return (
        EnvironmentVariable.objects.filter(environment=environment)
        .defer("value")
        .annotate(has_value=ExpressionWrapper(Q(value__isnull=False), output_field=BooleanField()))
        .select_related("updated_by")
    )


def env_var_get(*, environment: Environment, name: str) -> EnvironmentVariable:
    """One variable's metadata (value deferred); DoesNotExist -> 404."""
    return env_var_list(environment=environment).get(name=name)


def provider_key_list(*, environment: Environment) -> QuerySet[ProviderKey]:
    return ProviderKey.objects.filter(environment=environment).select_related("environment__project")


def provider_key_get(*, environment: Environment, key_id: int) -> ProviderKey:
    return provider_key_list(environment=environment).get(pk=key_id)


def skill_list() -> QuerySet[Skill]:
    return Skill.objects.all()


def skill_readiness(*, environment: Environment, skills) -> list[dict]:
    """Per skill: which ``required_env`` names are set in ``environment`` and which are missing.

    Names only. A variable counts as set when it has a value and, if it holds a provider
    key, that key is active (a disabled or revoked key is not served, so it is missing).
    Two queries plus the skills' own, whatever their number.
    """
    set_names = set(
        EnvironmentVariable.objects.filter(environment=environment, value__isnull=False).values_list("name", flat=True)
    )
    set_names -= set(
        ProviderKey.objects.filter(environment=environment)
        .exclude(status=ProviderKey.Status.ACTIVE)
        .values_list("env_var_name", flat=True)
    )
    rows = []
    for skill in skills:
        required = list(skill.required_env)
        present = [n for n in required if n in set_names]
        missing = [n for n in required if n not in set_names]
        rows.append({"slug": skill.slug, "name": skill.name, "required_env": required,
                     "set": present, "missing": missing, "ready": not missing})
    return rows
