"""Admin: provider-key age badges ("rotate: 120 days old") and a rotation-due filter.

Metadata only (``rotated_at``/``created_at``, a variable's ``updated_at``): no value is
decrypted for either. The rule is ``secrets_app.key_age``'s, as in ``key_status``.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from secrets_app.key_age import (
    age_days,
    provider_key_variables_due_q,
    provider_key_written_at,
    provider_keys_due,
    rotate_after_days,
)
from secrets_app.models import EnvironmentVariable, ProviderKey


def age_badge(written_at) -> str:
    days = age_days(written_at)
    if days is None:
        return "—"
    if days >= rotate_after_days():  # whole days: the same instant as key_age's cutoff
        return format_html('<span class="platos-badge platos-badge-due" style="color:#ba2121;font-weight:bold">'
                           "rotate: {} days old</span>", days)
    return format_html('<span class="platos-badge">{} days</span>', days)


@admin.display(description="key age")
def provider_key_age(obj: ProviderKey) -> str:
    if obj.status == ProviderKey.Status.REVOKED:
        return "— (revoked)"
    return age_badge(provider_key_written_at(obj))


@admin.display(description="key age", ordering="updated_at")
def variable_key_age(obj: EnvironmentVariable) -> str:
    if obj.kind != EnvironmentVariable.Kind.PROVIDER_KEY or not getattr(obj, "has_value", True):
        return "—"
    return age_badge(obj.updated_at)


class _RotationFilter(admin.SimpleListFilter):
    title = "rotation"
    parameter_name = "rotation"

    def lookups(self, request, model_admin):
        return [("due", f"due (older than {rotate_after_days()} days)")]


class ProviderKeyRotationFilter(_RotationFilter):
    def queryset(self, request, queryset):
        return provider_keys_due(queryset) if self.value() == "due" else queryset


class VariableRotationFilter(_RotationFilter):
    def queryset(self, request, queryset):
        return queryset.filter(provider_key_variables_due_q()) if self.value() == "due" else queryset
