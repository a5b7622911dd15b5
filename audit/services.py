"""Recording audit rows: the one function every service calls, inside its own transaction."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from audit import chain
from audit.models import GENESIS_HASH, AuditEvent

# Names of extra entries that would invite a value in: refused outright.
_FORBIDDEN_EXTRA = re.compile(r"secret|value|password|token|plaintext|credential", re.IGNORECASE)
_EXTRA_MAX_ITEMS = 20
_EXTRA_MAX_STR = 200


def _check_extra(extra: dict[str, Any]) -> None:
    """``extra`` is small metadata (counts, key ids, flags): never a secret value."""
    if len(extra) > _EXTRA_MAX_ITEMS:
        raise ValidationError({"extra": f"at most {_EXTRA_MAX_ITEMS} entries"})
    for name, item in extra.items():
        if _FORBIDDEN_EXTRA.search(name):
            raise ValidationError({"extra": f"entry {name!r} is not allowed in an audit row"})
        items = item if isinstance(item, list | tuple) else [item]
        for one in items:
            if not (one is None or isinstance(one, bool | int | float | str)):
                raise ValidationError({"extra": f"entry {name!r} must hold scalars"})
            if isinstance(one, str) and len(one) > _EXTRA_MAX_STR:
                raise ValidationError({"extra": f"entry {name!r} is too long"})
            if isinstance(one, float) and not (math.isfinite(one) and abs(one) < 2**53):
                # jsonb gives such floats back in another spelling than Python hashed:
                # the row would later look altered to verify_audit_chain.
                raise ValidationError({"extra": f"entry {name!r} must be a finite number below 2**53"})
            if isinstance(one, str) and "\x00" in one:
                raise ValidationError({"extra": f"entry {name!r} holds a NUL character"})


def client_ip(meta) -> str | None:
    """The client address: REMOTE_ADDR, or with ``PLATOS_TRUSTED_PROXIES = N`` the address
    the N-th proxy from us saw (X-Forwarded-For's N-th entry from the right; entries to
    its left are whatever the client sent). Anything that is not an IP is dropped, so a
    forged header can neither fake an address nor make the audit insert fail."""
    hops = settings.PLATOS_TRUSTED_PROXIES
    candidate = meta.get("REMOTE_ADDR")
    if hops > 0:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate)) if candidate else None
    except ValueError:
        return None


# ``slug -> id of the project with that slug now, or None``: set by the store (a layer
# above, which knows projects) in its AppConfig.ready(); see register_project_resolver.
_project_resolver: Callable[[str], int | None] | None = None
_RESOLVE: Any = object()  # audit_record's default: ask the resolver


def register_project_resolver(resolver: Callable[[str], int | None] | None) -> None:
    """Tell ``audit_record`` how to find the id of the project a scope names.

    The audit log sits below the store and may not import it: the store registers
    this at start-up (dependency inversion, as the audit API gets its project rule
    passed in). It is asked only for rows that name a project in ``scope`` and were
    not given ``project_id=`` by their caller (one query each: callers holding the
    project pass its id). ``None`` unregisters (rows then keep ``project_id`` NULL
    unless given one).
    """
    global _project_resolver
    _project_resolver = resolver


def _project_id_of(slug: str, given) -> int | None:
    if given is not _RESOLVE:
        return None if given is None else int(given)
    if not slug or _project_resolver is None:
        return None
    return _project_resolver(slug)


def _request_meta(request) -> dict[str, Any]:
    if request is None:
        return {}
    meta = request.META
    return {
        # NUL cannot be stored in PostgreSQL text: a header holding one must not make
        # the audit insert (and so the audited action) fail.
        "request_id": (meta.get("HTTP_X_REQUEST_ID") or "").replace("\x00", "")[:64],
        "client_ip": client_ip(meta),
        "user_agent": (meta.get("HTTP_USER_AGENT") or "").replace("\x00", "")[:300],
    }


def audit_record(
    *,
    action: AuditEvent.Action | str,
    success: bool,
    actor=None,
    key: str = "",
    scope: str = "",
    subject_type: AuditEvent.Subject | str = "",
    subject_id: str = "",
    reason: str = "",
    request=None,
    extra: dict[str, Any] | None = None,
    project_id: int | None = _RESOLVE,
) -> AuditEvent:
    """Write one audit row.

    Call it inside the transaction of the change (or read) it records: if the row
    cannot be written the exception propagates and the caller's work rolls back.

    action: an ``AuditEvent.Action``; subject_type: an ``AuditEvent.Subject`` (or empty),
        subject_id: that subject's primary key.
    actor: a user, a string such as ``"system:rotate_message_key"``, or None
        (then the request's user, if any).
    key: the name of the secret (never its value). scope: ``project/environment``.
    reason: why it failed (``missing``, ``disabled``, ``no_permission``, ...) or the
        reason a person gave for a reveal.
    project_id: the id of the project ``scope`` names, when the caller holds it
        (``environment.project_id``: no query). Left out, the registered project
        resolver looks the scope's project up (one query); ``None`` records none.
    """
    if action not in AuditEvent.Action.values:
        raise ValidationError({"action": f"{action!r} is not an AuditEvent.Action (dotted slug like secret.read)"})
    if subject_type and subject_type not in AuditEvent.Subject.values:
        raise ValidationError({"subject_type": f"{subject_type!r} is not an AuditEvent.Subject"})
    extra = dict(extra or {})
    _check_extra(extra)
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    project = scope.split("/", 1)[0][:63]
    user = actor if getattr(actor, "is_authenticated", False) else None
    if user is not None:
        actor_text = user.get_username()
    elif actor is None or getattr(actor, "is_anonymous", False):
        actor_text = "anonymous"
    else:
        actor_text = str(actor)
    event = AuditEvent(
        action=str(action),
        actor=actor_text[:150],
        actor_user=user,
        key=key[:200],
        scope=scope[:200],
        project=project,
        project_id=_project_id_of(project, project_id),
        subject_type=str(subject_type),
        subject_id=str(subject_id)[:64],
        success=success,
        reason=reason[:200],
        extra=extra,
        **_request_meta(request),
    )
    event.full_clean(exclude=["prev_hash", "row_hash"])
    # savepoint=False: inside the caller's transaction a savepoint only added two round
    # trips to every audited read. A row refused above has touched nothing; a failed
    # insert marks the caller's transaction for rollback, which is what it must do.
    with transaction.atomic(savepoint=False):
        _append(event)
    return event


def _append(event: AuditEvent) -> None:
    """Chain ``event`` to the head of a free lane and insert it (caller is in a transaction)."""
    event.chain = chain.lock_lane()
    # After the lock: the timestamp and the id follow the lane's chain order.
    event.ts = timezone.now()
    # Its own statement, after the lock: its snapshot then holds every row the lane's
    # previous writer committed. Plain SQL: the ORM's query building was a visible part
    # of an audited read's CPU.
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"SELECT row_hash FROM {table} WHERE chain = %s ORDER BY id DESC LIMIT 1", [event.chain])  # noqa: S608
        found = cur.fetchone()
    head = found[0] if found else None
    event.prev_hash = head or GENESIS_HASH
    event.row_hash = chain.row_hash(
        {name: getattr(event, name) for name in chain.ROW_FIELDS}, event.prev_hash
    )
    event.save(force_insert=True)


def _latest_purge_anchors() -> dict[int, str]:
    """{lane: anchor hash} of the latest purge row (a purge from before lanes anchored lane 0)."""
    extra = AuditEvent.objects.filter(action="audit.purge").order_by("-id").values_list("extra", flat=True).first()
    if not isinstance(extra, dict) or "anchor_hash" not in extra:
        return {}
    if "anchor_lanes" in extra:
        return {int(lane): str(h) for lane, h in zip(extra["anchor_lanes"], extra["anchor_hashes"], strict=True)}
    return {0: str(extra["anchor_hash"])}


def _purge_switch(state: str) -> None:
    """Allow (``on``) or refuse again (``off``) DELETE on the audit table, for this transaction only."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT set_config('platos.audit_purge', %s, true)", [state])


@dataclass(frozen=True)
class PurgeResult:
    deleted: int
    batches: int
    cutoff: dt.datetime


def audit_purge(*, older_than_days: int | None = None, batch_size: int = 5000, now=None) -> PurgeResult:
    """Delete audit rows older than the retention period, oldest first, in batches.

    Only a prefix of the chain (by id) is ever deleted: rows from the first row
    at or after the cutoff onwards stay, so the remaining rows still form one
    chain. Each batch is its own transaction that takes the writers' lock, turns
    on ``platos.audit_purge`` for that transaction only (the PostgreSQL trigger
    refuses DELETE otherwise) and records an ``audit.purge`` row whose
    ``extra.anchor_id``/``extra.anchor_hash`` name the last deleted row and
    ``extra.anchor_lanes``/``extra.anchor_hashes`` the last deleted row of each lane. The
    verifier accepts the first remaining row's ``prev_hash`` when it equals the
    anchor of the latest purge row, and that purge row is itself in the chain.
    A killed run leaves a verifiable chain; running it again continues.
    """
    days = settings.PLATOS_ADMIN_AUDIT_RETENTION_DAYS if older_than_days is None else older_than_days
    if days < 1:
        raise ValidationError({"older_than_days": "must be at least 1"})
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    # Rows are timestamped under the writers' lock, so ts follows id; taking the
    # smallest id at or after the cutoff as the boundary still guarantees that
    # only a prefix is deleted even if a clock stepped back once.
    # When every row is old, the boundary is just past the last row now, so the
    # purge rows written below are never purged by this run.
    bounds = AuditEvent.objects.aggregate(last=Max("id"))
    boundary = AuditEvent.objects.filter(ts__gte=cutoff).aggregate(first=Min("id"))["first"]
    if boundary is None:
        boundary = (bounds["last"] or 0) + 1
    old = AuditEvent.objects.filter(id__lt=boundary).order_by("id")
    deleted = batches = 0
    anchors: dict[int, str] | None = None
    while True:
        with transaction.atomic():
            chain.lock_writers()
            ids = list(old.values_list("id", flat=True)[:batch_size])
            if not ids:
                break
            last_id = ids[-1]
            last_hash = AuditEvent.objects.filter(id=last_id).values_list("row_hash", flat=True).get()
            # Each lane's anchor: the hash of its last deleted row (its first remaining row links to it).
            lane_last = dict(
                AuditEvent.objects.filter(id__lte=last_id).values("chain").annotate(last=Max("id"))
                .values_list("chain", "last")
            )
            hashes = dict(AuditEvent.objects.filter(id__in=lane_last.values()).values_list("id", "row_hash"))
            if anchors is None:  # a lane with no row in this batch keeps the anchor of an earlier purge
                anchors = _latest_purge_anchors()
            anchors.update({lane: hashes[last] for lane, last in lane_last.items()})
            lanes = sorted(anchors)
            _purge_switch("on")
            n, _ = AuditEvent.objects.filter(id__lte=last_id).delete()
            _purge_switch("off")
            deleted += n
            batches += 1
            audit_record(
                action=AuditEvent.Action.AUDIT_PURGE, success=True, actor="system:purge_audit",
                extra={"anchor_id": last_id, "anchor_hash": last_hash, "deleted": n,
                       "anchor_lanes": lanes, "anchor_hashes": [anchors[lane] for lane in lanes],
                       "cutoff": cutoff.isoformat(), "retention_days": days},
            )
    return PurgeResult(deleted=deleted, batches=batches, cutoff=cutoff)
