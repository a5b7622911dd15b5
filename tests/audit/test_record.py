import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from audit.models import AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db


def test_records_actor_request_metadata_and_fields():
    user = get_user_model().objects.create_user("alice")
    request = RequestFactory().get("/", HTTP_USER_AGENT="curl/8", HTTP_X_REQUEST_ID="req-1", REMOTE_ADDR="10.0.0.9")
    request.user = user
    event = audit_record(action="secret.read", success=False, key="OPENAI_API_KEY", scope="acme/prod",
                         reason="missing", request=request)
    row = AuditEvent.objects.get(pk=event.pk)
    assert (row.actor, row.actor_user_id, row.key, row.scope, row.success, row.reason) == (
        "alice", user.pk, "OPENAI_API_KEY", "acme/prod", False, "missing")
    assert (row.request_id, row.client_ip, row.user_agent) == ("req-1", "10.0.0.9", "curl/8")


def test_deleting_the_user_keeps_the_row():
    user = get_user_model().objects.create_user("bob")
    audit_record(action="secret.write", success=True, actor=user, key="K")
    user.delete()
    row = AuditEvent.objects.get()
    assert row.actor == "bob" and row.actor_user_id is not None


@pytest.mark.parametrize("extra", [{"value": "x"}, {"secret_len": 3}, {"n": {"nested": 1}}, {"k": "x" * 500},
                                   {"h": 2.0**60}, {"f": float("nan")}])
def test_extra_refuses_what_could_hold_a_secret(extra):
    with pytest.raises(ValidationError):
        audit_record(action="secret.read", success=True, actor="system:test", extra=extra)
    assert not AuditEvent.objects.exists()


def test_action_must_be_a_dotted_slug():
    with pytest.raises(ValidationError):
        audit_record(action="Secret Read", success=True, actor="system:test")


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.2.3.4", "10.0.0.9"),  # no proxy trusted: the header is ignored
        (1, "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # the address our proxy saw, not the client's claim
        (1, "not-an-ip", None),  # garbage neither fakes an address nor breaks the insert
    ],
)
def test_client_ip_trusts_forwarded_for_only_from_configured_proxies(settings, proxies, forwarded, expected):
    settings.PLATOS_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.9")
    request.user = get_user_model().objects.create_user("carol")
    event = audit_record(action="secret.read", success=True, request=request)
    assert AuditEvent.objects.get(pk=event.pk).client_ip == expected
