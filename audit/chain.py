"""The hash chain over audit rows: canonical form, hashing, and the writers' lock.

Each row stores ``prev_hash`` (the ``row_hash`` of the row before it, by id) and
``row_hash = sha256(canonical(row) || prev_hash)``. The canonical form is JSON
with sorted keys over every column except ``id``, ``chain`` and ``row_hash``
(columns in ``OPTIONAL_HASHED_FIELDS`` only when not NULL: see there); values are
normalised the way the database hands them back (UTC ISO timestamps, floats
that are whole numbers as integers, as jsonb returns them), so a row read back
hashes to what was written.

``id`` is not hashed: the order is proven by the links (each row names its
predecessor's hash), so a removed, inserted or reordered row breaks a link.

Lanes: the log is ``LANES`` interleaved chains (``AuditEvent.chain``); a row links to
the row before it *in its lane*. Each lane has its own writers' lock, held until the
writing transaction commits, so up to ``LANES`` audited actions commit (and flush to
disk) at once instead of queueing on one lock. Within a lane everything said above
holds; a row moved to another lane breaks a link in both. ``lock_writers`` takes every
lane (purge). SQLite serialises writers itself and uses lane 0 only; rows written
before lanes existed are lane 0, so an old log is one lane that simply continues.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.db import connection

# Any constant works; it only has to be the same in every process writing audit rows.
# Lane L's lock is ADVISORY_LOCK_ID + L (lane 0 keeps the lock of the single chain).
ADVISORY_LOCK_ID = 0x706C61746F73  # "platos"
LANES = 16

HASHED_FIELDS = (
    "ts", "action", "actor", "actor_user_id", "key", "scope", "project", "subject_type",
    "subject_id", "success", "reason", "request_id", "client_ip", "user_agent", "extra",
)
# Columns added after rows were already chained: hashed only when not NULL, so a row
# written before the column existed (NULL there) hashes exactly as it did, and a new
# row's value is covered (setting, changing or clearing it breaks the row's hash).
# Migrations of older schemas pass dicts without these names: they count as NULL.
OPTIONAL_HASHED_FIELDS = ("project_id",)
ROW_FIELDS = HASHED_FIELDS + OPTIONAL_HASHED_FIELDS  # what to read of a row to hash it


def _normalise(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def canonical(values: dict[str, Any]) -> bytes:
    """The bytes that are hashed for one row (``values`` holds HASHED_FIELDS, and may hold
    OPTIONAL_HASHED_FIELDS: absent or None, they are left out)."""
    body = {name: _normalise(values[name]) for name in HASHED_FIELDS}
    for name in OPTIONAL_HASHED_FIELDS:
        if values.get(name) is not None:
            body[name] = _normalise(values[name])
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(values: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(values) + b"|" + prev_hash.encode("ascii")).hexdigest()


def lock_lane() -> int:
    """Take one lane's writers' lock until the current transaction ends; return the lane.

    PostgreSQL: a transaction-scoped advisory lock per lane, so two writers cannot read
    the same head of a lane and fork it, and a lane's ids commit in its chain order. The
    first free lane is taken, starting from one derived from the backend's pid (a
    transaction that already holds a lane gets it again: the locks are re-entrant); only
    when all are busy does it wait, on that first lane. SQLite: lane 0 (its one writer
    at a time already serialises). Must be called inside ``transaction.atomic``.
    """
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cur:
        start = connection.connection.info.backend_pid % LANES
        cur.execute(
            # No ORDER BY: the series is scanned in order and LIMIT stops at the first lane
            # locked (a sort would try, and take, every lane first).
            "SELECT lane FROM (SELECT (%s + i) %% %s AS lane FROM generate_series(0, %s) AS i) AS l "
            "WHERE pg_try_advisory_xact_lock(%s + lane) LIMIT 1",
            [start, LANES, LANES - 1, ADVISORY_LOCK_ID],
        )
        row = cur.fetchone()
        if row is not None:
            return row[0]
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_ID + start])
        return start


def lock_writers() -> None:
    """Take every lane's lock until the current transaction ends (purge: no writer at all).

    Always in lane order, so two callers cannot deadlock on each other.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pg_advisory_xact_lock(%s + lane) FROM generate_series(0, %s) AS lane",
                [ADVISORY_LOCK_ID, LANES - 1],
            )
