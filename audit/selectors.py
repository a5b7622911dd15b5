"""Reads of the audit log: who may see which rows, the console's filters, chain verification."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from audit import chain
from audit.models import GENESIS_HASH, AuditEvent
from platos.core.errors import Refused

# The order of every listing (API, admin, CSV): newest first, id breaks ties.
ORDERING = ("-ts", "-id")


class AdminProject(NamedTuple):
    """A project as the audit log's visibility rule needs it (given by the store)."""

    id: int
    slug: str
    created_at: dt.datetime


def audit_event_list_for_user(
    *, user, admin_projects: Callable[[Any], Iterable[tuple[int, str, dt.datetime]]]
) -> QuerySet[AuditEvent]:
    """Rows the user may read: all for superusers, their projects' rows for project admins.

    ``admin_projects(user)`` gives ``(id, slug, created_at)`` (an :class:`AdminProject`)
    of each project the user administers. The audit log knows nothing of projects and
    roles (they live in the store, a layer above): the caller passes that rule in. It
    is called for non-superusers only, so a superuser costs no extra query.

    A project's rows are found by id: a project deleted and re-created with the same
    slug is another project and does not see the old one's rows. Rows without a
    ``project_id`` (written before the column existed, or naming a project that did not
    exist then) are matched by slug, and only when written at or after the project's
    ``created_at``: whatever an earlier project of that slug did stays hidden.

    Anyone else (a plain member, a user with no project) is refused (403). Rows
    without a scope (system runs such as key rotation) are visible to superusers only.
    """
    if user.is_superuser:
        return AuditEvent.objects.order_by(*ORDERING)
    projects = [AdminProject(*p) for p in admin_projects(user)]
    if not projects:
        raise Refused("The audit log is open to superusers and project admins only.")
    visible = Q(project_id__in=[p.id for p in projects])
    for p in projects:
        visible |= Q(project_id__isnull=True, project=p.slug, ts__gte=p.created_at)
    return AuditEvent.objects.filter(visible).order_by(*ORDERING)


def audit_event_filter(
    qs: QuerySet[AuditEvent],
    *,
    ts_from: dt.datetime | None = None,
    ts_to: dt.datetime | None = None,
    actor: str | None = None,
    key: str | None = None,
    scope: str | None = None,
    action: str | None = None,
    success: bool | None = None,
    project_id: int | None = None,
) -> QuerySet[AuditEvent]:
    """Narrow ``qs``; every filter is an exact (indexed) match.

    ``from`` is inclusive, ``to`` exclusive. ``scope`` is ``project/environment``,
    or a bare ``project`` for every environment of that project.
    """
    if ts_from is not None:
        qs = qs.filter(ts__gte=ts_from)
    if ts_to is not None:
        qs = qs.filter(ts__lt=ts_to)
    if actor:
        qs = qs.filter(actor=actor)
    if key:
        qs = qs.filter(key=key)
    if scope:
        qs = qs.filter(scope=scope) if "/" in scope else qs.filter(project=scope)
    if action:
        qs = qs.filter(action=action)
    if success is not None:
        qs = qs.filter(success=success)
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return qs


def audit_event_iter(qs: QuerySet[AuditEvent], *, batch_size: int = 2000) -> Iterator[AuditEvent]:
    """Every row of ``qs`` in ORDERING, fetched in keyset batches (constant memory, no server cursor)."""
    qs = qs.order_by(*ORDERING)
    last: tuple[dt.datetime, int] | None = None
    while True:
        page = qs
        if last is not None:
            page = qs.filter(Q(ts__lt=last[0]) | Q(ts=last[0], id__lt=last[1]))
        rows = list(page[:batch_size])
        yield from rows
        if len(rows) < batch_size:
            return
        last = (rows[-1].ts, rows[-1].id)


# --- chain verification ---------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows: int
    head_hash: str
    bad_id: int | None = None
    problem: str = ""


def _hash_of(row: dict[str, Any]) -> str:
    return chain.row_hash(row, row["prev_hash"])


def _purge_anchor() -> tuple[int, dict[int, str]] | None:
    """(anchor_id, {lane: hash of its last deleted row}) of the latest purge, or None.

    A purge from before lanes names one hash: the single chain's, lane 0."""
    for extra in (
        AuditEvent.objects.filter(action=AuditEvent.Action.AUDIT_PURGE)
        .order_by("-id").values_list("extra", flat=True).iterator()
    ):
        if isinstance(extra, dict) and "anchor_hash" in extra:
            if "anchor_lanes" in extra:
                lanes = dict(zip(extra["anchor_lanes"], extra["anchor_hashes"], strict=True))
                return int(extra["anchor_id"]), {int(lane): str(h) for lane, h in lanes.items()}
            return int(extra["anchor_id"]), {0: str(extra["anchor_hash"])}
    return None


def audit_chain_verify(*, batch_size: int = 2000) -> ChainReport:
    """Walk every row in id order, in batches, and check its hash and its link.

    Reports the first row that was altered (its hash does not match its
    content), or whose link is broken (the row before it was removed, or a row
    was inserted or moved out of order). The first row must link to the
    genesis hash or to the anchor recorded by the latest purge.

    The whole walk reads one snapshot (REPEATABLE READ on PostgreSQL): a purge
    committing between two batches would otherwise look like removed rows.
    """
    outermost = not connection.in_atomic_block  # SET TRANSACTION must open the transaction
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _verify_walk(batch_size=batch_size)


def _verify_walk(*, batch_size: int) -> ChainReport:
    """One pass in id order; each row is checked against the previous row of its lane
    (see audit.chain). The head is the last row's hash when one lane is in use, else
    the SHA-256 of ``lane:head`` for each lane, in lane order."""
    anchor = _purge_anchor()
    fields = ("id", "chain", "prev_hash", "row_hash", *chain.ROW_FIELDS)
    last: dict[int, tuple[int, str]] = {}  # lane -> (id, row_hash) of its previous row
    prev_id: int | None = None
    count = 0
    while True:
        qs = AuditEvent.objects.order_by("id")
        if prev_id is not None:
            qs = qs.filter(id__gt=prev_id)
        rows = list(qs.values(*fields)[:batch_size])
        for row in rows:
            count += 1
            lane = row["chain"]
            before = last.get(lane)
            head = before[1] if before else ""
            if _hash_of(row) != row["row_hash"]:
                return ChainReport(False, count, head, row["id"],
                                   f"row {row['id']} was altered: its content does not match its hash")
            if before is None:
                lane_anchor = None if anchor is None else (anchor[0], anchor[1].get(lane))
                problem = _first_row_problem(row, lane_anchor)
                if problem:
                    return ChainReport(False, count, head, row["id"], problem)
            elif row["prev_hash"] != before[1]:
                return ChainReport(False, count, head, row["id"],
                                   f"row {row['id']} does not follow row {before[0]}: row {before[0]} was altered "
                                   "and re-hashed, a row between them was removed, or a row was inserted or "
                                   "moved out of order")
            last[lane] = (row["id"], row["row_hash"])
            prev_id = row["id"]
        if len(rows) < batch_size:
            break
    if len(last) <= 1:
        return ChainReport(True, count, next(iter(last.values()))[1] if last else GENESIS_HASH)
    heads = ",".join(f"{lane}:{last[lane][1]}" for lane in sorted(last))
    return ChainReport(True, count, hashlib.sha256(heads.encode()).hexdigest())


def _first_row_problem(row: dict[str, Any], anchor: tuple[int, str | None] | None) -> str:
    if anchor is not None and row["id"] <= anchor[0]:
        return f"row {row['id']} is older than the last purge (which removed rows up to {anchor[0]})"
    if row["prev_hash"] == GENESIS_HASH:
        return ""
    if anchor is not None and anchor[1] is not None and row["prev_hash"] == anchor[1]:
        return ""
    return f"row {row['id']} is the first row but does not link to the start of the log or to the last purge: " \
        "rows before it were removed"
