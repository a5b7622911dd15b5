"""Admin changes to projects, environments, memberships (roles) and users become audit rows.

The admin writes its own LogEntry through ``log_addition`` / ``log_change`` /
``log_deletions``, inside the change view's transaction; the mixin adds the audit row
at the same point, so the row and the change commit or roll back together.
"""

from __future__ import annotations

from audit.services import audit_record
from secrets_app.auth_actions import MEMBERSHIP_CHANGE, PROJECT_CHANGE, USER_CHANGE

_ACTIONS = {"project": PROJECT_CHANGE, "environment": PROJECT_CHANGE, "projectmembership": MEMBERSHIP_CHANGE,
            "user": USER_CHANGE}


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


class AuditedAdminMixin:
    """For ModelAdmins of Project, Environment, ProjectMembership and User."""

    def _audit_change(self, request, obj, verb: str, message=None) -> None:
        model = obj._meta.model_name
        scope = getattr(obj, "slug", "") if model == "project" else ""
        fields = _described(message)
        action = _ACTIONS.get(model, PROJECT_CHANGE)
        if model == "project" and any("membership" in item for item in fields):
            action = MEMBERSHIP_CHANGE  # memberships edited inline on the project page
        audit_record(action=action, success=True, actor=request.user, key=str(obj)[:200], scope=scope,
                     subject_type=obj._meta.label_lower, subject_id=str(obj.pk), reason=verb,
                     request=request, extra={"fields": fields})

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
