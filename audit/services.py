"""Recording audit rows: the one function every service calls, inside its own transaction."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.models import AuditEvent

_ACTION = re.compile(r"\A[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\Z")
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


def _request_meta(request) -> dict[str, Any]:
    if request is None:
        return {}
    meta = request.META
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    return {
        "request_id": (meta.get("HTTP_X_REQUEST_ID") or "")[:64],
        "client_ip": (forwarded.split(",")[0].strip() if forwarded else meta.get("REMOTE_ADDR")) or None,
        "user_agent": (meta.get("HTTP_USER_AGENT") or "")[:300],
    }


@transaction.atomic
def audit_record(
    *,
    action: str,
    success: bool,
    actor=None,
    key: str = "",
    scope: str = "",
    subject_type: str = "",
    subject_id: str = "",
    reason: str = "",
    request=None,
    extra: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row.

    Call it inside the transaction of the change (or read) it records: if the row
    cannot be written the exception propagates and the caller's work rolls back.

    actor: a user, a string such as ``"system:rotate_message_key"``, or None
        (then the request's user, if any).
    key: the name of the secret (never its value). scope: ``project/environment``.
    reason: why it failed (``missing``, ``disabled``, ``no_permission``, ...) or the
        reason a person gave for a reveal.
    """
    if not _ACTION.match(action):
        raise ValidationError({"action": f"{action!r} is not a dotted slug like secret.read"})
    extra = dict(extra or {})
    _check_extra(extra)
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    user = actor if getattr(actor, "is_authenticated", False) else None
    if user is not None:
        actor_text = user.get_username()
    elif actor is None or getattr(actor, "is_anonymous", False):
        actor_text = "anonymous"
    else:
        actor_text = str(actor)
    event = AuditEvent(
        action=action,
        actor=actor_text[:150],
        actor_user=user,
        key=key[:200],
        scope=scope[:200],
        subject_type=subject_type,
        subject_id=str(subject_id)[:64],
        success=success,
        reason=reason[:200],
        extra=extra,
        **_request_meta(request),
    )
    event.full_clean()
    event.save()
    return event
