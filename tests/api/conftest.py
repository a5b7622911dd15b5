"""The objects every API route's path parameters point at, on top of the shared ``world``."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from secrets_app.services import env_var_update
from secrets_app.services.service_accounts import service_account_create
from secrets_app.tokens.services import token_create
from tests.factories import (
    ConnectedEntityFactory,
    EnvironmentVariableFactory,
    MessageFactory,
    ProviderKeyFactory,
    SkillFactory,
    ThreadFactory,
)


@pytest.fixture
def path_values(world) -> dict:
    """A real value for every path parameter name of the API (acme/production's objects)."""
    variable = EnvironmentVariableFactory(environment=world.prod, name="API_TOKEN", value="tok-123")
    key = ProviderKeyFactory(environment=world.prod)
    entity = ConnectedEntityFactory(environment=world.prod, slug="crm")
    thread = ThreadFactory(title="support", created_by=world.root, project=world.acme, environment=world.prod)
    message = MessageFactory(thread=thread, content="hello")
    SkillFactory(slug="search", required_env=["API_TOKEN"])
    env_var_update(variable=variable, actor=world.admin, value="tok-456")  # version 1 is kept
    token, _plaintext = token_create(user=world.root, name="api-tests")
    account, _row, _token = service_account_create(project=world.acme, name="worker", environments=["production"],
                                                   actor=world.admin)
    return {
        "project": world.acme.slug, "environment": world.prod.slug, "name": variable.name, "key_id": key.pk,
        "slug": entity.slug, "thread_id": thread.pk, "message_id": message.pk,
        "version": 1, "token_id": token.pk, "account_id": account.pk,
    }


@pytest.fixture
def root_api(world) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.root)
    return client
