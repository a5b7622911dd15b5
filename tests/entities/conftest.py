import hashlib
import hmac
import json
import secrets
import time

import pytest

from tests.factories import ConnectedEntityFactory


@pytest.fixture
def make_entity(world):
    """``make_entity(slug, env=None) -> (entity, plaintext secret)``, created by ``world.admin``."""
    def make(slug="crm", env=None):
        return ConnectedEntityFactory.create_with_secret(environment=env or world.env, actor=world.admin, slug=slug)
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
