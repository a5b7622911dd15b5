"""The admin index's dashboard: key health, counts per project, and charts of the audit log.

Every figure is one aggregate query (no per-row or per-project loop), and the audit
charts read a 30-day range through the ``(action, ts)`` index, so the page costs the
same number of queries whatever the data size (pinned by tests/platos/test_dashboard.py).
Charts are inline SVG built here as numbers and drawn by the template: no script, no
CDN, no external request. Each bar links to the audit log filtered to what it counts.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from entities.models import ConnectedEntity
from messages_app.models import Thread
from platos.rotation.status import key_status
from secrets_app.models import EnvironmentVariable, Project, ProviderKey

DAYS = 30
TOP_KEYS = 8
CHART_W, CHART_H, PAD = 300, 120, 16  # SVG viewBox of a per-day chart; PAD leaves room for the axis text
Action = AuditEvent.Action


def _audit_url(**params) -> str:
    return reverse("admin:audit_auditevent_changelist") + "?" + urlencode(params)


def _start_of(day: dt.date) -> str:
    """The day's first instant in the current time zone, ISO 8601 with its offset (an aware filter value)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time())).isoformat()


def _day_range(day: dt.date) -> dict[str, str]:
    return {"ts__gte": _start_of(day), "ts__lt": _start_of(day + dt.timedelta(days=1))}


def _per_day(*, action: str, since: dt.datetime, days: list[dt.date], split_success: bool) -> dict:
    rows = (AuditEvent.objects.filter(action=action, ts__gte=since)
            .annotate(day=TruncDate("ts")).order_by().values("day", "success").annotate(n=Count("id")))
    counts: dict[tuple[dt.date, bool], int] = {}
    for row in rows:
        counts[(row["day"], row["success"])] = counts.get((row["day"], row["success"]), 0) + row["n"]
    series = [(True, "ok"), (False, "failed")] if split_success else [(False, "failed")]
    peak = max([sum(counts.get((d, ok), 0) for ok, _ in series) for d in days] + [1])
    slot = CHART_W / len(days)
    bars = []
    for i, day in enumerate(days):
        base = CHART_H - PAD
        for ok, css in series:
            n = counts.get((day, ok), 0)
            if not n:
                continue
            height = max(1.0, (CHART_H - 2 * PAD) * n / peak)
            base -= height
            params = {"action": action, "success__exact": "1" if ok else "0", **_day_range(day)}
            bars.append({"x": round(i * slot + 1, 1), "y": round(base, 1), "w": round(slot - 2, 1),
                         "h": round(height, 1), "css": css, "n": n, "day": day, "url": _audit_url(**params)})
    total = {css: sum(counts.get((d, ok), 0) for d in days) for ok, css in series}
    return {"bars": bars, "peak": peak, "total": total, "first": days[0], "last": days[-1],
            "url": _audit_url(action=action, ts__gte=_start_of(days[0]),
                              ts__lt=_start_of(days[-1] + dt.timedelta(days=1))),
            "width": CHART_W, "height": CHART_H, "axis_y": CHART_H - PAD + 12}


def _top_keys(*, since: dt.datetime, first_day: dt.date) -> dict:
    rows = list(AuditEvent.objects.filter(action=Action.SECRET_READ, ts__gte=since).exclude(key="")
                .order_by().values("key").annotate(n=Count("id")).order_by("-n", "key")[:TOP_KEYS])
    peak = max([r["n"] for r in rows] + [1])
    bars = [{"key": r["key"], "n": r["n"], "y": i * 22, "w": round(115 * r["n"] / peak, 1),
             "url": _audit_url(action=Action.SECRET_READ, q=r["key"], ts__gte=_start_of(first_day))}
            for i, r in enumerate(rows)]
    return {"bars": bars, "height": max(22, 22 * len(bars))}


def _keyrings() -> list[dict]:
    rings = []
    for ring in key_status()["keyrings"]:
        write_key = next(k["key_id"] for k in ring["keys"] if k["writes"])
        total = sum(ring["rows_per_key_id"].values())
        under_write = ring["rows_per_key_id"].get(write_key, 0)
        old = {kid: n for kid, n in ring["rows_per_key_id"].items() if kid != write_key}
        rotating = len(ring["keys"]) > 1
        rings.append({
            "keyring": ring["keyring"], "canary": ring["canary"], "write_key_id": write_key,
            "rows_under_old_key_ids": old, "old_rows": sum(old.values()), "rows": total,
            "rotation": {"percent": round(100 * under_write / total, 1) if total else 100.0} if rotating else None,
            "healthy": ring["canary"]["status"] == "ok" and not old,
        })
    return rings


def _projects(now: dt.datetime) -> list[dict]:
    projects: dict[str, dict] = {}

    def row(slug):
        return projects.setdefault(slug, {"project": slug, "env_vars": 0, "keys": {}, "entities": {}, "threads": 0})

    for slug in Project.objects.order_by().values_list("slug", flat=True):
        row(slug)
    for r in (EnvironmentVariable.objects.order_by().values("environment__project__slug")
              .annotate(n=Count("id"))):
        row(r["environment__project__slug"])["env_vars"] = r["n"]
    for r in (ProviderKey.objects.order_by().values("environment__project__slug", "status")
              .annotate(n=Count("id"))):
        row(r["environment__project__slug"])["keys"][r["status"]] = r["n"]
    day, month = now - dt.timedelta(days=1), now - dt.timedelta(days=30)
    for r in (ConnectedEntity.objects.order_by().values("environment__project__slug").annotate(
            day=Count("id", filter=Q(last_connected_at__gte=day)),
            month=Count("id", filter=Q(last_connected_at__gte=month, last_connected_at__lt=day)),
            older=Count("id", filter=Q(last_connected_at__lt=month)),
            never=Count("id", filter=Q(last_connected_at__isnull=True)))):
        row(r["environment__project__slug"])["entities"] = {k: r[k] for k in ("day", "month", "older", "never")}
    for r in Thread.objects.exclude(project=None).order_by().values("project__slug").annotate(n=Count("id")):
        row(r["project__slug"])["threads"] = r["n"]
    return [projects[slug] for slug in sorted(projects)]


def dashboard_context(*, user) -> dict:
    """What the dashboard shows to ``user``: each part only with the view permission it needs."""
    now = timezone.now()
    today = timezone.localdate(now)
    days = [today - dt.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    since = timezone.make_aware(dt.datetime.combine(days[0], dt.time()))
    context: dict = {"dashboard": True}
    if user.has_perm("platos.view_keycanary"):
        context["keyrings"] = _keyrings()
    if user.has_perm("secrets_app.view_project"):
        context["projects"] = _projects(now)
    if user.has_perm("audit.view_auditevent"):
        context["reads_chart"] = _per_day(action=Action.SECRET_READ, since=since, days=days, split_success=True)
        context["auth_chart"] = _per_day(action=Action.ENTITY_AUTH_FAILED, since=since, days=days,
                                         split_success=False)
        context["top_keys"] = _top_keys(since=since, first_day=days[0])
    return context
