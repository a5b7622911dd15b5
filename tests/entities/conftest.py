import hashlib
import hmac
import json
import secrets
import time

import pytest
from django.contrib.auth import get_user_model

from entities.services import entity_create
from secrets_app.models import Environment, Project, ProjectMembership


@pytest.fixture
def world(db):
    User = get_user_model()
    project = Project.objects.create(slug="acme", name="Acme")
    env = Environment.objects.create(project=project, slug="production")
    other_env = Environment.objects.create(project=Project.objects.create(slug="beta", name="Beta"), slug="prod")
    admin = User.objects.create_user("alice", password="pw-alice-123")
    ProjectMembership.objects.create(user=admin, project=project, role="admin")
    member = User.objects.create_user("bob", password="pw-bob-123")
    ProjectMembership.objects.create(user=member, project=project, role="member")
    outsider = User.objects.create_user("eve", password="pw-eve-123")
    root = User.objects.create_superuser("root", "", "pw-root-123")
    return type("World", (), dict(project=project, env=env, other_env=other_env, admin=admin, member=member,
                                  outsider=outsider, root=root))


@pytest.fixture
def make_entity(world):
    def make(slug="crm", env=None):
        return entity_create(environment=env or world.env, actor=world.admin, slug=slug,
                             display_name=slug.upper(), base_url=f"https://{slug}.example.com")
    return make


def sign(secret: str, body: bytes = b"", *, timestamp: int | None = None, nonce: str | None = None) -> dict:
    """Headers of a signed entity request (Django test-client form)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(16)
    sig = hmac.new(secret.encode(), f"{ts}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()
    return {"HTTP_X_PLATOS_TIMESTAMP": ts, "HTTP_X_PLATOS_NONCE": nonce, "HTTP_X_PLATOS_SIGNATURE": sig}


def body(data) -> bytes:
    return json.dumps(data).encode()


@pytest.fixture
def client_factory():
    from django.test import Client

    def make(user):
        c = Client()
        c.force_login(user)
        return c
    return make
