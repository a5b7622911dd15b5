"""Audit rows, written by ``audit_record`` only: the hash chain is the service's to extend."""

from __future__ import annotations

from audit import services
from audit.models import AuditEvent
from tests.factories.base import ServiceFactory


def _record(**kwargs) -> AuditEvent:
    return services.audit_record(**kwargs)  # looked up per call: tests may patch the module's clock


class AuditEventFactory(ServiceFactory):
    class Meta:
        model = AuditEvent

    action = "secret.read"
    success = True
    actor = "system:test"

    service = staticmethod(_record)
