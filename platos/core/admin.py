"""Admin building blocks every app may use (Django only: no app is imported here)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404


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


def object_for_post_action(model_admin, request, queryset, pk):
    """The object a change-page button (a POST) acts on: 404 for another method or an
    unknown pk, 403 without the change permission on that object."""
    if request.method != "POST":
        raise Http404
    obj = get_object_or_404(queryset, pk=pk)
    if not model_admin.has_change_permission(request, obj):
        raise PermissionDenied
    return obj
