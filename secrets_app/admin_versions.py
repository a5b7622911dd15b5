"""Admin of env-var version history: the history on the variable's page, rollback and destroy.

Metadata only: an archived value is never rendered (reveal is the audited API call).
Rollback and destroy call the services, so each is audited like its API twin.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from platos.core.admin import ReadOnlyAdminMixin
from secrets_app import services
from secrets_app.models import EnvironmentVariableVersion

VERSION_FIELDS = ["version", "kind", "created_at", "created_by", "archived_at", "archived_by", "destroyed_at"]


def version_history_html(variable) -> str:
    """The history table on the variable's change page (metadata only; a read-only field, not an
    inline, so the variable's form posts exactly what it did before)."""
    if variable is None or variable.pk is None:
        return "—"
    rows = services.env_var_version_list(variable=variable).order_by("-version")
    if not rows:
        return "no previous values"
    body = format_html_join(
        "", "<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (r.version, r.kind, r.created_at, r.created_by or "—", r.archived_at,
             f"destroyed {r.destroyed_at:%Y-%m-%d %H:%M}" if r.destroyed_at else "kept")
            for r in rows
        ),
    )
    link = reverse("admin:secrets_app_environmentvariableversion_changelist") + f"?variable__id__exact={variable.pk}"
    return format_html(
        '<table><tr><th>version</th><th>kind</th><th>written</th><th>by</th><th>replaced</th><th>value</th></tr>'
        '{}</table><p><a href="{}">Roll back or destroy a version</a></p>', body, link,
    )


@admin.register(EnvironmentVariableVersion)
class EnvironmentVariableVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["variable_name", "environment", *VERSION_FIELDS]
    list_filter = ["kind", "variable__environment__project", "variable"]
    search_fields = ["variable__name"]
    date_hierarchy = "archived_at"
    list_select_related = ["variable__environment__project", "created_by", "archived_by"]
    fields = readonly_fields = ["variable", *VERSION_FIELDS]
    actions = ["rollback", "destroy"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("value")

    def lookup_allowed(self, lookup, value, request=None):
        if lookup.split("__")[0] == "value":
            return False
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="name", ordering="variable__name")
    def variable_name(self, obj) -> str:
        return obj.variable.name

    @admin.display(description="environment")
    def environment(self, obj) -> str:
        return obj.variable.environment.scope

    def _may_write(self, request) -> bool:
        if request.user.has_perm("secrets_app.change_environmentvariable"):
            return True
        self.message_user(request, "You may not change environment variables.", messages.ERROR)
        return False

    @admin.action(description="Roll back its variable to the selected version (writes a new version)")
    def rollback(self, request, queryset):
        if not self._may_write(request):
            return
        done = 0
        for row in queryset.select_related("variable"):
            try:
                services.env_var_rollback(variable=row.variable, version=row.version, actor=request.user,
                                          request=request)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{row.variable.name} v{row.version}: {'; '.join(exc.messages)}",
                                  messages.ERROR)
        self.message_user(request, f"Rolled back {done} variable(s).")

    @admin.action(description="Destroy the selected versions' values (for good; metadata stays)")
    def destroy(self, request, queryset):
        if not self._may_write(request):
            return
        rows = list(queryset.select_related("variable"))
        for row in rows:
            services.env_var_version_destroy(variable=row.variable, version=row.version, actor=request.user,
                                             request=request)
        self.message_user(request, f"Destroyed {len(rows)} version value(s).")
