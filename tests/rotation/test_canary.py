"""The key canary: a well-formed but wrong key is caught at boot, the test database is fine."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.signals import request_started
from django.db import connection

from platos import checks
from platos.models import KeyCanary
from platos.rotation import CanaryMismatch, canary, canary_state, canary_verify
from tests.rotation.conftest import E1, K1, K2, environ, kid

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_the_test_database_has_good_canaries():
    assert {s.status for s in canary_verify()} == {"ok"}
    assert KeyCanary.objects.count() == 2


def test_wrong_key_is_refused_naming_keyring_and_key_ids_never_keys(use_keys):
    use_keys(msg=K1, canary=True)
    use_keys(msg=K2)  # K2 was never used: a swapped/mistyped key
    with pytest.raises(CanaryMismatch) as exc:
        canary_verify()
    message = str(exc.value)
    assert "keyring 'messages'" in message
    assert f"written under key id {kid(K1)}" in message
    assert f"PLATOS_MESSAGE_ENCRYPTION_KEY has key id {kid(K2)}" in message
    assert K1 not in message and K2 not in message
    assert canary_state("encryption").status == "ok"


def test_next_key_alone_is_fine_until_the_swap(use_keys):
    use_keys(msg=K1, canary=True)
    use_keys(msg=K1, msg_next=K2)  # step 1 of the runbook
    assert {s.status for s in canary_verify()} == {"ok"}
    use_keys(msg=K2)  # swapped before rotating: the data is still under K1
    with pytest.raises(CanaryMismatch):
        canary_verify()


def test_tampered_canary_is_refused(use_keys):
    use_keys(msg=K1, canary=True)
    with connection.cursor() as cur:
        cur.execute("SELECT messages_canary FROM platos_keycanary WHERE keyring = 'messages'")
        token = cur.fetchone()[0]
        cur.execute(
            "UPDATE platos_keycanary SET messages_canary = %s WHERE keyring = 'messages'",
            [token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")],
        )
    with pytest.raises(CanaryMismatch, match="was altered"):
        canary_verify()


def test_system_check_reports_e010(use_keys):
    use_keys(msg=K1, canary=True)
    assert checks.key_canary(None) == []
    use_keys(msg=K2)
    errors = checks.key_canary(None)
    assert [e.id for e in errors] == ["platos.E010"]
    with pytest.raises(CommandError, match="platos.E010"):
        call_command("check")


def test_rotation_refuses_when_the_canary_does_not_match(use_keys):
    use_keys(msg=K1, canary=True)
    use_keys(msg=K2, msg_next="5" * 32)
    with pytest.raises(CommandError) as exc:
        call_command("rotate_message_key")
    assert exc.value.returncode == 2 and "Nothing was written" in str(exc.value)


def test_missing_canary_is_written_by_migrate_hook(use_keys):
    use_keys(msg=K1)
    KeyCanary.objects.all().delete()
    assert canary_state("messages").status == "missing"
    from django.apps import apps

    canary.on_post_migrate(apps.get_app_config("platos"), using="default")
    assert canary_state("messages").status == "ok"
    assert canary_state("messages").key_id == kid(K1)


@pytest.fixture
def request_guard():
    """Re-arm the first-request guard for one test, and leave it disarmed afterwards."""
    saved = canary._verified_in_process
    canary._verified_in_process = False
    request_started.connect(canary.on_first_request, dispatch_uid="platos.key_canary_request")
    yield
    request_started.disconnect(canary.on_first_request, dispatch_uid="platos.key_canary_request")
    canary._verified_in_process = saved


def test_first_request_of_a_web_process_is_refused_with_a_wrong_key(use_keys, client, request_guard):
    use_keys(msg=K1, canary=True)
    use_keys(msg=K2)
    for _ in range(2):  # every request, until the key is fixed
        with pytest.raises(CanaryMismatch, match="keyring 'messages'"):
            client.get("/admin/login/")
    use_keys(msg=K1)
    assert client.get("/admin/login/").status_code == 200
    assert canary._verified_in_process is True
    use_keys(msg=K2)  # verified once per process: the guard is gone (no cost per request)
    assert client.get("/admin/login/").status_code == 200


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_wrong_key_stops_manage_py_processes(tmp_path):
    """A real boot: migrate with K1 writes the canary; check/runserver-style boot with K2 stops."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PLATOS_", "ENCRYPTION_", "DATABASE_"))}
    base.update(DJANGO_SETTINGS_MODULE="platos.settings_test", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    good = {**base, **environ(msg=K1, enc=E1)}
    wrong = {**base, **environ(msg=K2, enc=E1)}
    assert _manage("migrate", "-v0", env=good).returncode == 0
    assert _manage("check", env=good).returncode == 0
    for args in (["check"], ["migrate", "-v0"]):
        proc = _manage(*args, env=wrong)
        assert proc.returncode != 0, args
        assert f"written under key id {kid(K1)}" in proc.stderr, proc.stderr[-2000:]
        assert K1 not in proc.stderr + proc.stdout and K2 not in proc.stderr + proc.stdout
