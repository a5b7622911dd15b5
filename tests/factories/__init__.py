"""factory_boy factories, one module per app; models with business rules are created by their services."""

from tests.factories.audit import AuditEventFactory
from tests.factories.entities import ConnectedEntityFactory
from tests.factories.messages_app import MessageFactory, SafetyEventFactory, ThreadFactory, ToolCallFactory
from tests.factories.secrets_app import (
    EnvironmentFactory,
    EnvironmentVariableFactory,
    ProjectFactory,
    ProjectMembershipFactory,
    ProviderKeyFactory,
    SkillFactory,
)
from tests.factories.users import StaffUserFactory, SuperUserFactory, UserFactory

__all__ = [
    "AuditEventFactory",
    "ConnectedEntityFactory",
    "EnvironmentFactory",
    "EnvironmentVariableFactory",
    "MessageFactory",
    "ProjectFactory",
    "ProjectMembershipFactory",
    "ProviderKeyFactory",
    "SafetyEventFactory",
    "SkillFactory",
    "StaffUserFactory",
    "SuperUserFactory",
    "ThreadFactory",
    "ToolCallFactory",
    "UserFactory",
]
