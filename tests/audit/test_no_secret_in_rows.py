"""No audit row holds a secret value, whichever flow wrote it.

Each app's flows add their secrets to FLOWS as they land (secret store reads and
writes, provider key rotation, entity reveal/regenerate, message views).
"""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import RequestFactory

from audit.models import AuditEvent
from audit.services import audit_record
from tests.audit.secret_scan import audit_rows_containing

pytestmark = pytest.mark.django_db

SECRET = "sk-live-4f9c2d7e1b8a6f3c"  # noqa: S105 (a stand-in secret value)


def flow_audit_console(client, make_user):
    """The audit app's own flows: record, export (API + admin), purge, verify."""
    root = make_user("root", superuser=True)
    request = RequestFactory().get("/", HTTP_USER_AGENT="agent", REMOTE_ADDR="10.1.2.3")
    request.user = root
    audit_record(action="secret.read", success=True, key="OPENAI_API_KEY", scope="acme/prod", request=request)
    with pytest.raises(ValidationError):
        audit_record(action="secret.read", success=True, actor="system:t", extra={"value": SECRET})
    client.force_login(root)
    # A secret pasted into the search box or a filter must not end up in an audit row.
    client.get("/admin/audit/auditevent/export/", {"q": SECRET})
    client.get("/agent/v1/monitoring/admin-audit", {"format": "csv", "key": SECRET})
    call_command("purge_audit")
    call_command("verify_audit_chain")
    return [SECRET]


FLOWS = [flow_audit_console]


def test_the_scan_finds_a_secret_wherever_it_is():
    row = audit_record(action="secret.read", success=True, actor="system:t", reason=f"x{SECRET}x")
    assert audit_rows_containing([SECRET]) == [(row.id, "reason")]
    assert audit_rows_containing(["nothing-like-this"]) == []


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.__name__)
def test_no_audit_row_contains_a_secret_value(flow, client, make_user):
    secrets = flow(client, make_user)
    assert AuditEvent.objects.exists()
    assert audit_rows_containing(secrets) == []
