"""The audit log in the admin: read-only, filterable, exportable, and fast on a big table.

With a million rows the usual admin costs are full scans: the row count on
every page, ``SELECT DISTINCT`` for each filter's choices, the date
hierarchy's ``datetimes()``, facet counts and sorting on unindexed columns.
Each is replaced here by something bounded: a capped count (then the
planner's estimate), a skip-scan over the action index, text-box filters for
actor and scope, probes per year/month/day, no facets, sorting by time only.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.urls import path
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from audit.csv_export import csv_response
from audit.models import AuditEvent
from audit.selectors import audit_event_iter
from audit.services import audit_record
from platos.core.admin import ReadOnlyAdminMixin


class CappedCountPaginator(Paginator):
    """Exact count up to ``exact_up_to`` rows; beyond, PostgreSQL's row estimate.

    The count reads at most ``exact_up_to + 1`` index entries whatever the table
    size, so the page costs the same with 10 thousand rows or 10 million. Past
    the cap the total shown is the planner's estimate (never below the cap).
    """

    exact_up_to = 10_000

    @cached_property
    def count(self) -> int:
        qs = self.object_list.order_by()
        n = qs[: self.exact_up_to + 1].count()
        if n <= self.exact_up_to:
            return n
        if connection.vendor != "postgresql":
            return qs.count()  # development databases: small, count them
        plan = json.loads(qs.explain(format="json"))
        return max(n, int(plan[0]["Plan"]["Plan Rows"]))


class ActionFilter(admin.SimpleListFilter):
    """The actions present in the log, found with a skip scan of the (action, ts) index.

    Django's default (``SELECT DISTINCT action``) reads every row; the recursive
    query below does one index probe per distinct action.
    """

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        table = connection.ops.quote_name(AuditEvent._meta.db_table)
        sql = f"""
            WITH RECURSIVE t(action) AS (
                SELECT MIN(action) FROM {table}
                UNION ALL
                SELECT (SELECT MIN(action) FROM {table} WHERE action > t.action) FROM t WHERE t.action IS NOT NULL
            )
            SELECT action FROM t WHERE action IS NOT NULL
        """  # noqa: S608 (no user input: the table name comes from the model)
        with connection.cursor() as cur:
            cur.execute(sql)
            return [(name, name) for (name,) in cur.fetchall()]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(action=value) if value else queryset


class ExactTextFilter(admin.SimpleListFilter):
    """A text box: rows whose field equals what was typed (an indexed equality)."""

    template = "admin/audit/text_filter.html"
    field = ""

    def lookups(self, request, model_admin):
        return (("", ""),)  # one dummy choice so the admin shows the filter

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset

    def choices(self, changelist):
        params = {k: v for k, v in changelist.filter_params.items() if k != "p"}
        params.update({k: [v] for k, v in changelist.params.items() if k in ("q", "o")})
        yield {
            "value": self.value() or "",
            "parameter_name": self.parameter_name,
            "other_params": [(k, v) for k, values in params.items() if k != self.parameter_name for v in values],
            "clear_link": changelist.get_query_string(remove=[self.parameter_name]),
        }


class ActorFilter(ExactTextFilter):
    title = "actor"
    parameter_name = "actor"
    field = "actor"


class ScopeFilter(ExactTextFilter):
    """``project/environment``, or a bare project for all its environments."""

    title = "scope (project or project/environment)"
    parameter_name = "scope"

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(scope=value) if "/" in value else queryset.filter(project=value)


class ProjectIdFilter(ExactTextFilter):
    """The project's id: its rows only, not those of an earlier project with the same slug."""

    title = "project id"
    parameter_name = "project_id"
    field = "project_id"

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        # Not a number: no row has that id (an empty list, not a 500).
        if not (value.isascii() and value.isdigit() and len(value) < 19):
            return queryset.none()
        return queryset.filter(project_id=int(value))


class TimeFilter(admin.DateFieldListFilter):
    """The date filter, titled "By time" (the field is ``ts``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "time"


def _cut(value: str):
    """A cell cut to its column's width by CSS, the whole value in the tooltip."""
    return format_html('<span class="audit-cut" title="{}">{}</span>', value, value) if value else ""


def truncated(field: str, description: str):
    @admin.display(description=description, empty_value="")
    def column(model_admin, obj):
        return _cut(getattr(obj, field))

    column.__name__ = f"{field}_text"
    return column


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the log is written by services only."""

    # client_ip, user agent, request id: on the row's page and in the CSV (the list must fit 1,280 px).
    list_display = ("time", "action_text", "actor_text", "key_text", "scope_text", "project_id_text", "subject",
                    "outcome", "reason_text")
    list_filter = (ActionFilter, "success", ScopeFilter, ProjectIdFilter, ActorFilter, ("ts", TimeFilter))
    search_fields = ("key", "actor")
    search_help_text = "Exact secret name or actor (e.g. OPENAI_API_KEY, alice, system:purge_audit)."
    date_hierarchy = "ts"
    list_per_page = 50
    list_max_show_all = 0  # never "show all"
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ("time",)
    actions = ["export_selected_csv"]
    fields = (
        "time", "action", "success", "reason", "actor", "actor_user_id", "key", "scope", "project", "project_id",
        "subject_type", "subject_id", "request_id", "client_ip", "user_agent", "extra_json",
        "prev_hash", "row_hash",
    )
    readonly_fields = fields

    # --- columns (long values cut to fit 1,280 px, the full value on hover) --------------
    @admin.display(description="time", ordering="ts")
    def time(self, obj):
        return formats.date_format(timezone.localtime(obj.ts), "DATETIME_FORMAT")

    action_text = truncated("action", "action")
    actor_text = truncated("actor", "actor")
    key_text = truncated("key", "key")
    scope_text = truncated("scope", "scope")
    reason_text = truncated("reason", "reason")

    @admin.display(description="project id", empty_value="")
    def project_id_text(self, obj):
        """Tells a re-created project (same slug, new id) from the one before it."""
        return obj.project_id

    @admin.display(description="subject")
    def subject(self, obj):
        return _cut(f"{obj.subject_type}:{obj.subject_id}") if obj.subject_type else ""

    @admin.display(description="success", boolean=True)
    def outcome(self, obj):
        return obj.success

    @admin.display(description="extra")
    def extra_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.extra, indent=2, sort_keys=True))

    def get_search_results(self, request, queryset, search_term):
        """Exact match on key or actor: both are indexed; ``icontains`` would scan every row."""
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(key=term) | Q(actor=term)), False

    # --- CSV export ------------------------------------------------------------------
    def get_urls(self):
        export = path(
            "export/", self.admin_site.admin_view(self.export_view), name="audit_auditevent_export"
        )
        return [export, *super().get_urls()]

    def export_view(self, request):
        """Every row of the changelist as filtered now (same query string), streamed as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return self._export(request, changelist.get_queryset(request))

    @admin.action(description="Export selected audit events as CSV")
    def export_selected_csv(self, request, queryset):
        return self._export(request, queryset)

    def _export(self, request, queryset):
        audit_record(action=AuditEvent.Action.AUDIT_EXPORT, success=True, request=request, extra={"via": "admin"})
        return csv_response(audit_event_iter(queryset))
