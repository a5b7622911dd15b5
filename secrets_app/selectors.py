"""Reads of scopes, filtered by what the user may see."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from secrets_app.models import Environment, Project, ProjectMembership


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
