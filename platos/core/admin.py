"""Admin building blocks every app may use (Django only: no app is imported here)."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """Viewable in the admin, never added, changed or deleted there.

    For model admins and inlines alike (an inline's ``has_add_permission`` also
    receives ``obj``). The rows are written by services only.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
