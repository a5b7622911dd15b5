"""rotate_encryption_key: the runbook order and the entity-secret regeneration step."""

import io
import sys
import types

import pytest

from platos.models import KeyCanary
from tests.rotation.conftest import (
    E1,
    E2,
    K1,
    K2,
    key_ids,
    kid,
    make_notes,
    run,
    table_checksum,
)

pytestmark = pytest.mark.django_db



def test_rotate_encryption_key_prints_the_compromised_key_order(use_keys):
    use_keys(enc=E1, canary=True)
    make_notes(2)
    use_keys(enc=E1, enc_next=E2)
    code, out, _ = run("rotate_encryption_key")
    assert code == 0
    assert out.index("Rotate entity\nsecrets first") < out.index("Keyring 'encryption': rotating")


def test_regenerate_entity_secrets_missing_service_is_exit_2(use_keys, monkeypatch):
    use_keys(enc=E1, canary=True)
    make_notes(2)
    use_keys(enc=E1, enc_next=E2)
    monkeypatch.setitem(sys.modules, "entities.services", types.ModuleType("entities.services"))
    before = table_checksum("testapp_note")
    code, out, err = run("rotate_encryption_key", "--regenerate-entity-secrets")
    assert code == 2 and "entity_secret_regenerate_all is not available" in err
    assert table_checksum("testapp_note") == before


def test_regenerate_entity_secrets_runs_before_the_rotation(use_keys, monkeypatch):
    use_keys(enc=E1, canary=True)
    make_notes(2)
    use_keys(enc=E1, enc_next=E2)
    calls = []
    fake = types.ModuleType("entities.services")

    def entity_secret_regenerate_all(*, actor):
        calls.append((actor, key_ids("testapp_note", "data")))  # still under E1: before the rotation
        return 3

    fake.entity_secret_regenerate_all = entity_secret_regenerate_all
    monkeypatch.setitem(sys.modules, "entities.services", fake)
    code, out, _ = run("rotate_encryption_key", "--regenerate-entity-secrets")
    assert code == 0 and "Entity service secrets regenerated: 3" in out
    assert calls and calls[0][0].startswith("system:rotate_encryption_key")
    assert calls[0][1] == {kid(E1): 1}
    assert key_ids("testapp_note", "data") == {kid(E2): 1}


def test_progress_bar_on_a_terminal():
    from platos.rotation.progress import Progress

    stream = io.StringIO()
    bar = Progress(total=100, stream=stream, tty=True)
    bar.advance(50)
    bar.finish()
    text = stream.getvalue()
    assert text.startswith("\r") and "50/100 rows" in text and "rows/s" in text and "ETA" in text

    log = io.StringIO()
    line = Progress(total=10, stream=log, tty=False, interval=0)
    line.advance(4)
    assert "\r" not in log.getvalue() and "4/10 rows (40.0%)" in log.getvalue()


def test_canary_rows_are_rotated_with_a_text_primary_key(use_keys):
    use_keys(msg=K1, canary=True)
    use_keys(msg=K1, msg_next=K2)
    assert run("rotate_message_key")[0] == 0
    assert KeyCanary.objects.get(keyring="messages").messages_canary == "platos key canary v1"
    assert key_ids("platos_keycanary", "messages_canary") == {kid(K2): 1}


def test_regenerate_is_not_run_when_the_rotation_cannot_start(use_keys, monkeypatch):
    use_keys(enc=E1, canary=True)  # no ENCRYPTION_KEY_NEXT
    calls = []
    fake = types.ModuleType("entities.services")
    fake.entity_secret_regenerate_all = lambda *, actor: calls.append(actor)
    monkeypatch.setitem(sys.modules, "entities.services", fake)
    code, out, err = run("rotate_encryption_key", "--regenerate-entity-secrets")
    assert code == 2 and "ENCRYPTION_KEY_NEXT is not set" in err
    assert calls == []
