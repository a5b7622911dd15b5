"""API token lifecycle: create (the token is returned once), revoke, failed authentications."""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_record
from secrets_app.tokens.models import ApiToken

logger = logging.getLogger(__name__)

DEFAULT_EXPIRES_DAYS = 90
MAX_EXPIRES_DAYS = 365
_PREFIX = re.compile(r"\Aplt_[0-9a-f]{11}")
SUBJECT = AuditEvent.Subject.API_TOKEN


def _audit_fields(token: ApiToken) -> dict:
    # ``key`` is for stored secrets' names: a token is the subject, named in extra.
    return {"subject_type": SUBJECT, "subject_id": str(token.pk),
            "extra": {"name": token.name, "prefix": token.token_key, "owner": token.user.get_username(),
                      "expires_at": token.expiry.isoformat()}}


@transaction.atomic
def token_create(*, user, name: str, expires_in_days: int | None = None, actor=None,
                 request=None) -> tuple[ApiToken, str]:
    """Mint a token for ``user``; return the row and the token (its only appearance).

    name: a label for the owner (1-100 characters).
    expires_in_days: 1-365, default 90.
    actor: who asked (the owner, an admin, ``system:token_create``); default the owner.
    """
    name = (name or "").strip()
    errors = {}
    if not name or len(name) > 100:
        errors["name"] = ["a name of 1 to 100 characters is required"]
    days = DEFAULT_EXPIRES_DAYS if expires_in_days is None else expires_in_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRES_DAYS:
        errors["expires_in_days"] = [f"must be an integer from 1 to {MAX_EXPIRES_DAYS}"]
    if not user.is_active:
        errors["user"] = ["the owner is not active"]
    if errors:
        raise ValidationError(errors)
    token, plaintext = ApiToken.objects.create(user=user, expiry=dt.timedelta(days=days), name=name)
    audit_record(action=AuditEvent.Action.TOKEN_CREATE, success=True, actor=actor or user, request=request,
                 **_audit_fields(token))
    return token, plaintext


@transaction.atomic
def token_revoke(*, token: ApiToken, actor, request=None) -> None:
    """Delete the token (it stops authenticating at once); the audit row keeps its metadata."""
    fields = _audit_fields(token)
    token.delete()
    audit_record(action=AuditEvent.Action.TOKEN_REVOKE, success=True, actor=actor, request=request, **fields)


def token_auth_failed(*, reason: str, presented: str, request) -> None:
    """Audit a refused ``Bearer plt_…``: the reason and the presented prefix, never the token."""
    match = _PREFIX.match(presented)
    with transaction.atomic():
        audit_record(action=AuditEvent.Action.TOKEN_AUTH_FAILED, success=False, actor="anonymous", reason=reason,
                     subject_type=SUBJECT, request=request,
                     extra={"prefix": match.group(0) if match else "(malformed)"})
    logger.warning("API token refused (%s)", reason)


def token_touch(*, token: ApiToken) -> None:
    """Record a successful use; at most one write a minute per token."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
