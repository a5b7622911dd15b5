"""Admin changes to projects, environments, memberships (roles), users and groups become audit rows.

The admin writes its own LogEntry through ``log_addition`` / ``log_change`` /
``log_deletions``, inside the change view's transaction; the mixin adds the audit row
at the same point, so the row and the change commit or roll back together.
"""

from __future__ import annotations

from audit.models import AuditEvent
from audit.services import audit_record

Action, Subject = AuditEvent.Action, AuditEvent.Subject
# model name -> (action, subject type) of its rows
_VOCABULARY = {
    "project": (Action.PROJECT_CHANGE, Subject.PROJECT),
    "environment": (Action.PROJECT_CHANGE, Subject.ENVIRONMENT),
    "projectmembership": (Action.MEMBERSHIP_CHANGE, Subject.MEMBERSHIP),
    "user": (Action.USER_CHANGE, Subject.USER),
    "group": (Action.GROUP_CHANGE, Subject.GROUP),
}


def _described(message) -> list[str]:
    """Field names and inline objects named in the admin's change message (never values)."""
    out = []
    for part in message if isinstance(message, list) else []:
        for verb, detail in part.items():
            if "fields" in detail:
                out += [f"{verb}:{f}" if "name" not in detail else f"{verb}:{detail['name']}.{f}"
                        for f in detail["fields"]]
            elif "name" in detail:
                out.append(f"{verb}:{detail['name']}:{detail.get('object', '')}")
    return [item[:200] for item in out[:20]]


def _scope_of(obj, model: str) -> tuple[str, int | None]:
    """The project (and environment) a changed object belongs to, so its project's admins
    read the row: a project, one of its environments, a membership in it."""
    if model == "project":
        return obj.slug, obj.pk
    if model == "environment":
        return obj.scope, obj.project_id
    if model == "projectmembership":
        return obj.project.slug, obj.project_id
    return "", None


class AuditedAdminMixin:
    """For ModelAdmins of Project, Environment, ProjectMembership, User and Group."""

    def audit_extra(self, request, obj, message) -> dict:
        """What the row says about the change (names only, never values); see admin_users."""
        return {"object": str(obj)[:200], "fields": _described(message)}

    def _audit_change(self, request, obj, verb: str, message=None) -> None:
        model = obj._meta.model_name
        scope, project_id = _scope_of(obj, model)
        extra = self.audit_extra(request, obj, message)
        action, subject = _VOCABULARY.get(model, (Action.PROJECT_CHANGE, Subject.PROJECT))
        if model == "project" and any("membership" in item for item in extra["fields"]):
            action = Action.MEMBERSHIP_CHANGE  # memberships edited inline on the project page
        # ``key`` is for stored secrets' names: the changed object is named in extra.
        audit_record(action=action, success=True, actor=request.user, scope=scope,
                     project_id=project_id,
                     subject_type=subject, subject_id=str(obj.pk), reason=verb,
                     request=request, extra=extra)

    def log_addition(self, request, obj, message):
        self._audit_change(request, obj, "added", message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit_change(request, obj, "changed", message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit_change(request, obj, "deleted")
        return super().log_deletions(request, queryset)
