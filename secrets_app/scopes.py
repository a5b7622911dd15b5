"""Who may act in which scope: the one place.

The rule: a project's members (any role) may read in its environments; writing needs
the project's ``admin`` role; superusers may do both everywhere. An outsider is told
that the scope does not exist (404, not 403): a project they cannot see is
indistinguishable from one that is not there. A member lacking the role is refused
(403). Code acting as ``"system:<component>"`` is trusted in-process code.

Refusals are domain errors (``platos.core.errors``), turned into HTTP errors by
``platos.api.exception_handler`` only. The API uses :class:`InScope`; the store's
reader (``SecretsService``), the features' views and, through the wiring in
``platos/urls.py``, the audit log ask the functions here.
"""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import permissions

from platos.core.errors import NotFound, Refused
from secrets_app.models import Environment, Project, ProjectMembership

READ_ROLE: str | None = None  # any membership
WRITE_ROLE: str = ProjectMembership.Role.ADMIN
# Conversations: any membership reads them, these roles write them.
CONVERSATION_WRITE_ROLES = (ProjectMembership.Role.MEMBER, ProjectMembership.Role.ADMIN)


class ScopeNotFound(NotFound):
    """No such project/environment, or the user is not a member of its project."""


class RoleRequired(Refused):
    """The user is a member of the project, without the role this needs."""


def _memberships(*, user, role: str | None) -> QuerySet[ProjectMembership]:
    memberships = ProjectMembership.objects.filter(user=user)
    return memberships if role is None else memberships.filter(role=role)


def project_list_for_user(*, user, role: str | None = None) -> QuerySet[Project]:
    """Projects the user belongs to (with at least ``role`` when given); all for superusers."""
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(pk__in=_memberships(user=user, role=role).values("project_id"))


def admin_projects_for_user(user) -> list[tuple[int, str, object]]:
    """``(id, slug, created_at)`` of the projects where ``user`` holds the admin role: the
    audit log shows them those projects' rows, found by id (``audit_event_list_for_user``)."""
    return list(project_list_for_user(user=user, role=WRITE_ROLE).values_list("pk", "slug", "created_at"))


def project_id_for_slug(slug: str) -> int | None:
    """The id of the project called ``slug`` now (the audit log's project resolver)."""
    return Project.objects.filter(slug=slug).values_list("pk", flat=True).first()


def user_has_role(*, user, project_id: int, role: str | None = None) -> bool:
    """The role rule for one project: superuser, or a membership (with ``role`` when given)."""
    if user.is_superuser:
        return True
    return _memberships(user=user, role=role).filter(project_id=project_id).exists()


def actor_may_read(*, actor, environment: Environment) -> bool:
    """Whether ``actor`` may read secrets of ``environment`` (the rule of ``SecretsService.read``).

    A ``"system:<component>"`` string is trusted in-process code; a user must be
    active and authenticated, and a member of the project (superusers need not be).
    """
    if isinstance(actor, str):
        return bool(actor)
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return False
    return user_has_role(user=actor, project_id=environment.project_id, role=READ_ROLE)


def environment_get_for_user(*, user, project: str, environment: str, role: str | None = None) -> Environment:
    """The environment ``project/environment`` if the user may act there with ``role``.

    Raises ScopeNotFound (404) when it does not exist or the user is not a member of
    its project; RoleRequired (403) when the user is a member without ``role``.
    """
    envs = Environment.objects.select_related("project").filter(project__slug=project, slug=environment)
    if not user.is_superuser:  # a superuser's projects are all of them: no subquery to say so
        envs = envs.filter(project__in=project_list_for_user(user=user))
    try:  # unique (project, slug): .get() needs no ORDER BY, unlike .first()
        env = envs.get()
    except Environment.DoesNotExist:
        raise ScopeNotFound("No such project/environment.") from None
    if role is not None and not user_has_role(user=user, project_id=env.project_id, role=role):
        raise RoleRequired(f"This needs the {role} role in project {env.project.slug}.")
    return env


class InScope(permissions.BasePermission):
    """The one DRF permission of scoped endpoints (URL kwargs ``project`` and ``environment``).

    Reads (safe methods, plus those a view lists in ``scope_read_methods``) need a
    membership of the project; every other method needs the write role. The
    environment found is set on the view as ``view.environment``.

    An outsider's ScopeNotFound is raised (404). A missing role returns False with
    this permission's message, so DRF answers 403 through the same handler and the
    browsable API (which probes other methods' permissions and only tolerates DRF's
    own errors) can hide the forms the user may not use.
    """

    message = "You may not do this here."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        read_methods = getattr(view, "scope_read_methods", permissions.SAFE_METHODS)
        role = READ_ROLE if request.method in read_methods else WRITE_ROLE
        try:
            view.environment = environment_get_for_user(
                user=user, project=view.kwargs["project"], environment=view.kwargs["environment"], role=role
            )
        except RoleRequired as exc:
            self.message = exc.public_detail()
            self.code = exc.code
            return False
        return True


def project_get_for_user(*, user, project: str, role: str | None = None) -> Project:
    """The project ``project`` if the user may act there with ``role`` (404 / 403 as for environments)."""
    found = project_list_for_user(user=user).filter(slug=project).first()
    if found is None:
        raise ScopeNotFound("No such project.")
    if role is not None and not user_has_role(user=user, project_id=found.pk, role=role):
        raise RoleRequired(f"This needs the {role} role in project {found.slug}.")
    return found


def conversation_may_write(*, user, project_id: int | None) -> bool:
    """Whether ``user`` may write conversations of the project (``None``: unscoped threads,
    superusers only). ``view_message_plaintext`` never counts here: it is read-only."""
    if user.is_superuser:
        return True
    if project_id is None:
        return False
    return ProjectMembership.objects.filter(user=user, project_id=project_id,
                                            role__in=CONVERSATION_WRITE_ROLES).exists()
