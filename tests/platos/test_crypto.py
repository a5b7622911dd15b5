"""The envelope: round trips, tamper/truncation/context/key-id failures, NEXT semantics."""

import base64

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from platos.core import envelope as crypto
from platos.core.envelope import DecryptionError, decrypt, encrypt, token_key_id
from platos.core.keys import load_keyrings

K1 = "1f2e3d4c5b6a79881f2e3d4c5b6a7988"
K2 = "88796a5b4c3d2e1f88796a5b4c3d2e1f"
MSG = "c" * 64


def rings(current, nxt=None):
    env = {"ENCRYPTION_KEY": current, "PLATOS_MESSAGE_ENCRYPTION_KEY": MSG}
    if nxt:
        env["ENCRYPTION_KEY_NEXT"] = nxt
    return load_keyrings(env)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_round_trip_any_unicode(text):
    token = encrypt(text, keyring="encryption", context="t.Model.f")
    assert decrypt(token, keyring="encryption", context="t.Model.f") == text


@given(json_values)
@settings(max_examples=200, deadline=None)
def test_round_trip_json_field_values(value):
    from tests.testapp.models import Note

    field = Note._meta.get_field("data")
    assert field.from_db_value(field.get_prep_value(value), None, None) == value


@given(st.text(max_size=300))
@settings(max_examples=500, deadline=None)
def test_parser_raises_only_the_typed_error_on_junk(junk):
    try:
        decrypt(junk, keyring="messages", context="c")
    except DecryptionError:
        pass


@given(st.binary(min_size=0, max_size=80))
@settings(max_examples=300, deadline=None)
def test_parser_on_envelope_shaped_junk(body):
    kid = token_key_id(encrypt("x", keyring="messages", context="c"))
    junk = f"pv1:{kid}:" + base64.urlsafe_b64encode(body).decode().rstrip("=")
    with pytest.raises(DecryptionError):
        decrypt(junk, keyring="messages", context="c")


def test_each_encryption_uses_a_fresh_nonce():
    a = encrypt("same", keyring="messages", context="c")
    b = encrypt("same", keyring="messages", context="c")
    assert a != b


def flip(token, index):
    head, body = token.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[index] ^= 0x01
    return head + ":" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


@pytest.mark.parametrize("index", [0, 11, 12, -1, -16])
def test_flipped_byte_fails(index):
    token = encrypt("the secret sentence", keyring="messages", context="c")
    with pytest.raises(DecryptionError) as exc:
        decrypt(flip(token, index), keyring="messages", context="c")
    assert exc.value.key_id == token_key_id(token)
    assert "the secret sentence" not in str(exc.value)


def test_truncated_token_fails():
    token = encrypt("hello", keyring="messages", context="c")
    for cut in (5, 18, len(token) - 1, len(token) - 10):
        with pytest.raises(DecryptionError):
            decrypt(token[:cut], keyring="messages", context="c")


def test_wrong_context_fails_and_names_it():
    token = encrypt("hello", keyring="messages", context="app.Message.content")
    with pytest.raises(DecryptionError, match="context=app.Message.thinking_content"):
        decrypt(token, keyring="messages", context="app.Message.thinking_content")


def test_wrong_keyring_fails():
    token = encrypt("hello", keyring="messages", context="c")
    with pytest.raises(DecryptionError, match="key id not configured"):
        decrypt(token, keyring="encryption", context="c")


def test_key_id_in_header_cannot_be_swapped():
    # Rewriting the header's key id to another configured key must not decrypt.
    with override_settings(PLATOS_KEYRINGS=rings(K1, K2)):
        token = encrypt("hello", keyring="encryption", context="c")
        other = rings(K1)["encryption"].current.id
        forged = token.replace(token_key_id(token), other)
        with pytest.raises(DecryptionError):
            decrypt(forged, keyring="encryption", context="c")


def test_next_key_semantics():
    with override_settings(PLATOS_KEYRINGS=rings(K1)):
        old = encrypt("written under K1", keyring="encryption", context="c")
    r = rings(K1, K2)
    with override_settings(PLATOS_KEYRINGS=r):
        new = encrypt("written under K2", keyring="encryption", context="c")
        assert token_key_id(new) == r["encryption"].next.id
        assert token_key_id(old) == r["encryption"].current.id
        assert decrypt(old, keyring="encryption", context="c") == "written under K1"
    # After the swap (X=K2, no _NEXT) new rows still read, K1 rows name an unknown key.
    with override_settings(PLATOS_KEYRINGS=rings(K2)):
        assert decrypt(new, keyring="encryption", context="c") == "written under K2"
        with pytest.raises(DecryptionError, match="key id not configured"):
            decrypt(old, keyring="encryption", context="c")


def test_unknown_keyring_is_a_clear_error():
    with pytest.raises(crypto.EncryptionUnavailable):
        encrypt("x", keyring="nope", context="c")


def test_encrypt_refuses_non_text():
    with pytest.raises(TypeError):
        encrypt(b"bytes", keyring="messages", context="c")


def test_nonces_are_unique_across_blocks_and_a_fork():
    import os

    seen = {crypto._nonces.take() for _ in range(3 * 1024 + 7)}
    assert len(seen) == 3 * 1024 + 7 and all(len(n) == 12 for n in seen)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: its first nonce must come from a fresh block, not the parent's
        os.write(write, crypto._nonces.take())
        os._exit(0)
    os.waitpid(pid, 0)
    child_nonce = os.read(read, 12)
    parent_next = crypto._nonces.take()
    assert child_nonce != parent_next and child_nonce not in seen


def test_rewrap_moves_a_token_to_the_write_key_with_the_same_plaintext():
    with override_settings(PLATOS_KEYRINGS=rings(K1)):
        old = encrypt("ünïcode payload", keyring="encryption", context="c")
    r = rings(K1, K2)
    with override_settings(PLATOS_KEYRINGS=r):
        new = crypto.rewrap(old, keyring="encryption", context="c")
        assert token_key_id(new) == r["encryption"].next.id and new != old
        assert decrypt(new, keyring="encryption", context="c") == "ünïcode payload"
        with pytest.raises(DecryptionError):
            crypto.rewrap(old, keyring="encryption", context="other")  # context still binds
