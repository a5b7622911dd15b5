"""The entity secret through SecretsService: the audited runtime read for calls out to an entity."""

import pytest

from audit.models import AuditEvent
from entities.services import entity_disable
from secrets_app.services import SecretsService

pytestmark = pytest.mark.django_db


def test_entity_secret_reads_through_secrets_service_and_is_audited(world, make_entity):
    entity, secret = make_entity("crm")
    mark = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    value = SecretsService.read(key="entity:crm", scope="acme/production", actor="system:runtime", purpose="call_out")
    assert value.reveal() == secret
    assert secret not in f"{value} {value!r}"
    [row] = AuditEvent.objects.filter(id__gt=mark, action="secret.read")
    assert (row.key, row.scope, row.success) == ("entity:crm", "acme/production", True)
    assert secret not in str(row.__dict__)


@pytest.mark.parametrize("case", ["missing", "disabled"])
def test_entity_secret_failures_are_audited_with_their_reason(world, make_entity, case):
    entity, _secret = make_entity("crm")
    key = "entity:nope" if case == "missing" else "entity:crm"
    if case == "disabled":
        entity_disable(entity=entity, actor=world.admin)
    mark = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with pytest.raises(Exception) as exc:
        SecretsService.read(key=key, scope="acme/production", actor="system:runtime", purpose="call_out")
    assert getattr(exc.value, "reason", None) == case
    [row] = AuditEvent.objects.filter(id__gt=mark, action="secret.read")
    assert row.success is False and row.reason == case
