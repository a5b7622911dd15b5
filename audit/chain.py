"""The hash chain over audit rows: canonical form, hashing, and the writers' lock.

Each row stores ``prev_hash`` (the ``row_hash`` of the row before it, by id) and
``row_hash = sha256(canonical(row) || prev_hash)``. The canonical form is JSON
with sorted keys over every column except ``id`` and ``row_hash``; values are
normalised the way the database hands them back (UTC ISO timestamps, floats
that are whole numbers as integers, as jsonb returns them), so a row read back
hashes to what was written.

``id`` is not hashed: the order is proven by the links (each row names its
predecessor's hash), so a removed, inserted or reordered row breaks a link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.db import connection

# Any constant works; it only has to be the same in every process writing audit rows.
ADVISORY_LOCK_ID = 0x706C61746F73  # "platos"

HASHED_FIELDS = (
    "ts", "action", "actor", "actor_user_id", "key", "scope", "project", "subject_type",
    "subject_id", "success", "reason", "request_id", "client_ip", "user_agent", "extra",
)


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
    """The bytes that are hashed for one row (``values`` holds HASHED_FIELDS)."""
    body = {name: _normalise(values[name]) for name in HASHED_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(values: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(values) + b"|" + prev_hash.encode("ascii")).hexdigest()


def lock_writers() -> None:
    """Serialise audit writers until the current transaction ends.

    PostgreSQL: a transaction-scoped advisory lock, so two writers cannot read
    the same head and fork the chain, and ids are committed in chain order.
    SQLite serialises writers itself (one writer at a time per database).
    Must be called inside ``transaction.atomic``.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_ID])
