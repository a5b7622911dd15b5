"""Users and groups in the admin, audited: who changed whose privileges (``user.change`` and
``group.change`` rows).

Django's own UserAdmin, with :class:`AuditedAdminMixin`: every add, change, password
change and delete made in the admin writes a ``user.change`` row in the same
transaction. The row names what changed: the fields (``is_staff``, ``groups``,
``password``, ...), the new value of each privilege flag, and the groups and
permissions added or removed. Never a password or its hash: password fields are
named ``password`` and nothing more.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from secrets_app.admin_audit import AuditedAdminMixin

FLAGS = ("is_active", "is_staff", "is_superuser")
_MAX_NAMES = 20  # an audit extra entry holds a short list (audit.services)
_FORM = "_platos_audited_user_form"


def _field_names(form) -> list[str]:
    names = {"password" if "password" in name else name for name in form.changed_data}
    return sorted(names)[:_MAX_NAMES]


def _permission_name(permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def _added_removed(form, field: str, name) -> dict[str, list[str]]:
    """Names added to / removed from a many-to-many field (groups, user_permissions)."""
    if field not in form.changed_data:
        return {}
    before = {name(o) for o in form.initial.get(field) or []}
    after = {name(o) for o in form.cleaned_data.get(field) or []}
    label = "permissions" if field in ("user_permissions", "permissions") else field
    return {f"{label}_added": sorted(after - before)[:_MAX_NAMES],
            f"{label}_removed": sorted(before - after)[:_MAX_NAMES]}


class _KeepsForm:
    def construct_change_message(self, request, form, formsets, add=False):
        # Called for the add, change and password pages just before log_*: keep the form
        # for audit_extra (the admin hands log_change only its summary of it).
        setattr(request, _FORM, form)
        return super().construct_change_message(request, form, formsets, add)

    @staticmethod
    def changed_form(request):
        """The form of this add/change (taken once), or None for a deletion."""
        form = getattr(request, _FORM, None)
        if form is None or not form.is_bound or form.errors:
            return None
        delattr(request, _FORM)
        return form


class AuditedUserAdmin(_KeepsForm, AuditedAdminMixin, UserAdmin):

    def audit_extra(self, request, obj, message) -> dict:
        extra = {"object": str(obj)[:200], "fields": []}
        form = self.changed_form(request)
        if form is None:
            return extra  # a deletion: nothing changed field by field
        extra["fields"] = _field_names(form)
        extra.update({flag: bool(getattr(obj, flag)) for flag in FLAGS if flag in form.changed_data})
        extra.update(_added_removed(form, "groups", lambda group: group.name[:200]))
        extra.update(_added_removed(form, "user_permissions", _permission_name))
        return extra


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)


class AuditedGroupAdmin(_KeepsForm, AuditedAdminMixin, GroupAdmin):
    """Groups grant permissions to every member: a change of a group's permissions is a
    privilege change of all of them (``group.change``: the permissions added or removed)."""

    def audit_extra(self, request, obj, message) -> dict:
        extra = {"object": str(obj)[:200], "fields": []}
        form = self.changed_form(request)
        if form is not None:
            extra["fields"] = _field_names(form)
            extra.update(_added_removed(form, "permissions", _permission_name))
        return extra


if admin.site.is_registered(Group):
    admin.site.unregister(Group)
admin.site.register(Group, AuditedGroupAdmin)
