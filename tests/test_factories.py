"""The factories create through the services: ciphertext at rest and audit rows, as in production."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from entities.models import ConnectedEntity
from messages_app.models import Message, SafetyEvent, ToolCall
from platos.core.envelope import is_token
from secrets_app.models import EnvironmentVariable
from tests.factories import (
    AuditEventFactory,
    ConnectedEntityFactory,
    EnvironmentVariableFactory,
    MessageFactory,
    ProviderKeyFactory,
    SafetyEventFactory,
    SkillFactory,
    ToolCallFactory,
)

pytestmark = pytest.mark.django_db


def test_an_env_var_is_ciphertext_at_rest_and_audited_once(raw_column):
    var = EnvironmentVariableFactory(name="TOOL_TOKEN", value="factory-value-1")
    stored = raw_column(EnvironmentVariable, "value", var.pk)
    assert is_token(stored) and "factory-value-1" not in stored
    assert EnvironmentVariable.objects.get(pk=var.pk).value == "factory-value-1"
    rows = AuditEvent.objects.values_list("key", "scope", "success")
    assert list(rows) == [("TOOL_TOKEN", var.environment.scope, True)]


def test_a_provider_key_keeps_its_secret_in_the_store_only(world, raw_column):
    key = ProviderKeyFactory(environment=world.prod, label="main", actor=world.admin)
    variable = EnvironmentVariable.objects.get(environment=world.prod, name=key.env_var_name)
    assert variable.kind == EnvironmentVariable.Kind.PROVIDER_KEY
    assert is_token(raw_column(EnvironmentVariable, "value", variable.pk))
    assert key.is_default and key.created_by == world.admin
    assert AuditEvent.objects.filter(actor="ada", success=True).exists()


def test_an_entity_secret_is_encrypted_and_given_back_only_when_asked(world, raw_column):
    entity, secret = ConnectedEntityFactory.create_with_secret(environment=world.prod, actor=world.admin, slug="crm")
    assert len(secret) == 64 and secret not in raw_column(ConnectedEntity, "service_secret", entity.pk)
    assert ConnectedEntity.objects.get(pk=entity.pk).service_secret == secret
    assert "_minted_secret" not in vars(entity) and "_minted_secret" not in vars(ConnectedEntityFactory())
    # Entity rows name the entity as their subject (issue 10's audit vocabulary), not as a key.
    assert AuditEvent.objects.filter(subject_type="entity", subject_id=str(entity.pk), actor="ada").count() == 1


def test_conversation_factories_encrypt_and_number_messages(raw_column):
    first = MessageFactory(content="hello")
    second = MessageFactory(thread=first.thread, content="again")
    assert (first.sequence, second.sequence) == (1, 2)
    assert is_token(raw_column(Message, "content", first.pk))
    call = ToolCallFactory(message=second, arguments={"q": "x"})
    assert is_token(raw_column(ToolCall, "arguments", call.pk))
    event = SafetyEventFactory(message=second, detail="quoted text")
    assert event.thread == first.thread and is_token(raw_column(SafetyEvent, "detail", event.pk))


def test_audit_rows_extend_the_chain():
    a, b = AuditEventFactory(), AuditEventFactory(action="secret.write", success=False)
    assert b.prev_hash == a.row_hash and b.row_hash and not b.success


def test_service_factories_refuse_build_and_skills_are_validated():
    with pytest.raises(TypeError, match="use .create"):
        EnvironmentVariableFactory.build()
    with pytest.raises(ValidationError, match="required_env"):
        SkillFactory(required_env=["not a name"])
    assert SkillFactory(required_env=["OPENAI_API_KEY"]).required_env == ["OPENAI_API_KEY"]
