import pytest
from rest_framework.test import APIClient

from platos.core.logging import _registry

# Distinctive values: searched for everywhere they must not appear.
SECRET = "zq-DISTINCTIVE-secret-9f8e7d6c5b4a"
OPENAI_KEY = "sk-proj-DISTINCTIVEopenai0123456789abcdef"
OPENAI_KEY_2 = "sk-proj-ROTATEDopenai9876543210fedcba"
ANTHROPIC_KEY = "sk-ant-api03-DISTINCTIVEanthropic0123456789"


@pytest.fixture(autouse=True)
def _fresh_redaction_registry():
    _registry.clear()
    yield
    _registry.clear()


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


BASE = "/agent/v1/projects/{project}/environments/{env}/"


def url(path: str = "", project: str = "acme", env: str = "production") -> str:
    return BASE.format(project=project, env=env) + path
