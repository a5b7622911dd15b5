import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from platos.core.logging import _registry
from secrets_app.models import Environment, Project, ProjectMembership

# Distinctive values: searched for everywhere they must not appear.
SECRET = "zq-DISTINCTIVE-secret-9f8e7d6c5b4a"
OPENAI_KEY = "sk-proj-DISTINCTIVEopenai0123456789abcdef"
OPENAI_KEY_2 = "sk-proj-ROTATEDopenai9876543210fedcba"
ANTHROPIC_KEY = "sk-ant-api03-DISTINCTIVEanthropic0123456789"


class World:
    pass


@pytest.fixture(autouse=True)
def _fresh_redaction_registry():
    _registry.clear()
    yield
    _registry.clear()


@pytest.fixture
def world(db):
    User = get_user_model()
    w = World()
    w.acme = Project.objects.create(slug="acme", name="Acme")
    w.beta = Project.objects.create(slug="beta", name="Beta")
    w.prod = Environment.objects.create(project=w.acme, slug="production")
    w.staging = Environment.objects.create(project=w.acme, slug="staging")
    w.beta_prod = Environment.objects.create(project=w.beta, slug="production")
    w.admin = User.objects.create_user("ada", password="pw-ada-123")
    w.member = User.objects.create_user("max")
    w.outsider = User.objects.create_user("olga")  # member of beta only
    w.root = User.objects.create_superuser("root", "root@example.com", "pw-root-123")
    ProjectMembership.objects.create(user=w.admin, project=w.acme, role="admin")
    ProjectMembership.objects.create(user=w.member, project=w.acme, role="member")
    ProjectMembership.objects.create(user=w.outsider, project=w.beta, role="admin")
    return w


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


BASE = "/agent/v1/projects/{project}/environments/{env}/"


def url(path: str = "", project: str = "acme", env: str = "production") -> str:
    return BASE.format(project=project, env=env) + path
