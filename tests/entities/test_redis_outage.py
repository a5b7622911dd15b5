"""Redis lost and back: a reveal, an entity authentication and a throttled request.

Each test runs its own redis-server (port 19250, this suite's range; appendfsync
always, so a SIGKILL loses nothing that was acknowledged) and points the default
and ``nonces`` caches at it. Only that server is killed and restarted. Runs in both
CI passes wherever redis-server is on PATH (with PLATOS_REQUIRE_SERVICES=1 its
absence fails the run).

Documented states (README, "Redis down"): the reveal says "store unavailable — try
again" and the parked secret can be taken once Redis is back; a bearer-authenticated
entity request goes on; a signed one is refused with the generic 401 JSON (the replay
guard cannot prove the nonce fresh); throttles fail open. Never a 500.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from django.test import Client

from audit.models import AuditEvent
from entities.admin import SESSION_KEY
from entities.services import entity_secret_park
from secrets_app.services import env_var_create
from tests.entities.conftest import body, sign
from tests.secrets_app.conftest import client_for, url

PORT = 19250
REQUIRE = os.environ.get("PLATOS_REQUIRE_SERVICES") == "1"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("redis-server") is None and not REQUIRE, reason="redis-server not on PATH"),
]


class RedisServer:
    def __init__(self, directory):
        self.directory, self.proc = directory, None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(PORT), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def redis_server(tmp_path, settings):
    assert shutil.which("redis-server"), "redis-server is not on PATH"
    server = RedisServer(tmp_path)
    server.start()
    options = {"CLIENT_CLASS": "django_redis.client.DefaultClient",
               "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}
    default = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"redis://127.0.0.1:{PORT}/0",
               "OPTIONS": options}
    settings.CACHES = {"default": default, "nonces": {**default, "KEY_FUNCTION": "entities.replay.raw_key"}}
    yield server
    if server.proc.poll() is None:
        server.kill()


def test_reveal_while_redis_is_down_says_try_again_and_the_secret_is_still_takeable(
        redis_server, world, make_entity):
    entity, secret = make_entity()
    token = entity_secret_park(entity=entity, user=world.root, secret=secret)
    assert token
    client = Client(raise_request_exception=False)
    client.force_login(world.root)
    session = client.session
    session[SESSION_KEY] = {str(entity.pk): token}
    session.save()
    page = f"/admin/entities/connectedentity/{entity.pk}/initial-secret/"

    redis_server.kill()
    r = client.post(page, HTTP_ACCEPT="application/json")
    assert (r.status_code, r.json()) == (200, {"state": "retry", "secret": None})
    r = client.post(page)
    assert r.status_code == 200
    assert 'data-state="retry"' in r.content.decode()
    assert "Reveal store unavailable — try again shortly" in r.content.decode()
    assert secret not in r.content.decode()
    row = AuditEvent.objects.filter(action="entity.secret.reveal").latest("id")
    assert (row.success, row.reason) == (False, "reveal_store_unavailable")

    redis_server.start()  # the same data directory: what was parked is back
    r = client.post(page, HTTP_ACCEPT="application/json")
    assert (r.status_code, r.json()) == (200, {"state": "shown", "secret": secret})
    r = client.post(page, HTTP_ACCEPT="application/json")
    assert r.json() == {"state": "gone", "secret": None}  # still once only


def test_entity_auth_while_redis_is_down_then_back(redis_server, make_entity, caplog):
    entity, secret = make_entity()
    client = Client(raise_request_exception=False)
    headers = {"HTTP_X_PLATOS_ENTITY": str(entity.pk)}
    payload = body({})

    def heartbeat(signature):
        return client.post("/agent/v1/entity/heartbeat", payload, content_type="application/json",
                           **headers, **signature)

    redis_server.kill()
    # Bearer: no nonce to claim; the failure throttles fail open.
    r = client.get("/agent/v1/entity/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}", **headers)
    assert r.status_code == 200 and r.json()["auth_method"] == "bearer"
    # Signed: the replay guard cannot answer, so the request is refused (generic 401 JSON).
    r = heartbeat(sign(secret, payload))
    assert r.status_code == 401
    assert r.json() == {"detail": "Entity authentication failed."}
    row = AuditEvent.objects.filter(action="entity.auth.failed").latest("id")
    assert row.reason == "replay_guard_unavailable"
    assert "request not counted (fail open)" in caplog.text

    redis_server.start()
    signature = sign(secret, payload)
    r = heartbeat(signature)
    assert r.status_code == 200, r.content
    r = heartbeat(signature)
    assert r.status_code == 401  # the guard is back: the same nonce is a replay


def test_throttled_reveal_fails_open_while_redis_is_down_and_counts_again_after(redis_server, world, settings):
    settings.PLATOS_THROTTLE_RATES = {**settings.PLATOS_THROTTLE_RATES, "reveal": "1/min"}
    env_var_create(environment=world.prod, name="TOOL_TOKEN", value="s3cret-value-0001", kind="tool",
                   actor=world.admin)
    admin = client_for(world.admin)

    def reveal():
        return admin.post(url("env-vars/TOOL_TOKEN/reveal/"), {"reason": "debugging"}, format="json")

    redis_server.kill()
    assert [reveal().status_code for _ in range(3)] == [200, 200, 200]  # over 1/min: not counted

    redis_server.start()
    first, second = reveal(), reveal()
    assert first.status_code == 200
    assert second.status_code == 429 and "Retry-After" in second.headers
