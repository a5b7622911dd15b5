"""The front door: /healthz, /readyz, / and the favicon."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from platos import health
from platos.core.keys import Key, Keyring


def test_healthz_needs_no_database(client, settings):
    settings.SECURE_SSL_REDIRECT, settings.ALLOWED_HOSTS = True, ["platos.example.test"]
    # No django_db mark: any query would raise. Plain HTTP, the load balancer's own Host.
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_checks_database_and_canary_over_plain_http(client, settings):
    settings.SECURE_SSL_REDIRECT, settings.ALLOWED_HOSTS = True, ["platos.example.test"]
    assert client.get("/admin/login/", HTTP_HOST="platos.example.test").status_code == 301  # the rest redirects
    response = client.get("/readyz", HTTP_HOST="10.0.0.7")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert checks["database"] == "ok" and checks["key_canary"] == "ok"


@pytest.mark.django_db
def test_readyz_names_a_wrong_key(client, settings):
    wrong = Key.from_bytes(b"w" * 32, variable="PLATOS_MESSAGE_ENCRYPTION_KEY")
    settings.PLATOS_KEYRINGS = {**settings.PLATOS_KEYRINGS, "messages": Keyring("messages", wrong, None)}
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "unavailable"
    assert body["failed"] == ["key_canary"]
    assert "messages: unknown key id" in body["checks"]["key_canary"]
    assert "w" * 32 not in response.content.decode()


@pytest.mark.django_db
def test_readyz_names_an_unreachable_redis(client, settings, monkeypatch):
    # Port 18199 on loopback: nothing listens there (this project's reserved range).
    settings.REDIS_URL = "redis://127.0.0.1:18199/0"
    monkeypatch.setattr(health, "_redis_client", None)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["redis"] and response.json()["checks"]["redis"] == "unreachable"
    monkeypatch.setattr(health, "_redis_client", None)


def test_readyz_names_an_unreachable_database(client, monkeypatch):
    from django.db import DatabaseError

    def down(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(connection, "cursor", down)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert "database" in body["failed"] and body["checks"]["key_canary"] == "skipped (no database)"
    assert "connection refused" not in response.content.decode()  # never the driver's text


def test_root_redirects_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header


@pytest.mark.django_db
def test_bootstrap_admin_prints_the_public_url(settings):
    settings.PLATOS_PUBLIC_URL = "https://platos.example.com"
    out = io.StringIO()
    call_command("bootstrap_admin", stdout=out)
    assert "url:      https://platos.example.com/admin/" in out.getvalue()
