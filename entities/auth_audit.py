"""Audit rows of the entity auth path: refusals, and acceptances of the older signature.

Writes, as services are, each in its own transaction; kept beside entities/auth.py,
the only caller, so the services module stays about the entities themselves.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction

from audit.models import AuditEvent
from audit.services import audit_record
from entities.models import ConnectedEntity

logger = logging.getLogger("platos.entities")
Action = AuditEvent.Action


def entity_auth_failed(*, reason: str, entity: ConnectedEntity | None = None, request=None,
                       entity_ref: str = "") -> None:
    """Audit a refused entity request. ``reason`` stays in the audit row and the log only.

    entity_ref: the claimed entity id when no such entity exists. Only a
        well-formed UUID is recorded: a client that swapped its headers would
        otherwise put its secret into the audit row.
    """
    try:
        entity_ref = str(uuid.UUID(entity_ref)) if entity_ref else ""
    except ValueError:
        entity_ref = "(malformed)"
    with transaction.atomic():
        audit_record(
            action=Action.ENTITY_AUTH_FAILED, success=False, actor="anonymous",
            scope=entity.scope if entity else "", project_id=entity.environment.project_id if entity else None,
            subject_type=AuditEvent.Subject.ENTITY,
            subject_id=str(entity.pk) if entity else entity_ref[:64], reason=reason, request=request,
            extra={"slug": entity.slug} if entity else None,
        )
    logger.warning("entity auth refused (%s) for entity %s", reason, entity.pk if entity else "unknown")


@transaction.atomic
def entity_auth_v1_accepted(*, entity: ConnectedEntity, request=None) -> None:
    """Mark a request accepted with a version 1 signature (no method/path in it): one row
    each, so operators can see who must move to version 2 before requiring it."""
    audit_record(action=Action.ENTITY_AUTH_V1_ACCEPTED, success=True, actor=f"entity:{entity.slug}",
                 scope=entity.scope, project_id=entity.environment.project_id,
                 subject_type=AuditEvent.Subject.ENTITY, subject_id=str(entity.pk),
                 request=request, extra={"slug": entity.slug, "signature_version": 1,
                                         "method": request.method if request else ""})
