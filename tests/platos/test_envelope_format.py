"""The wire format is frozen, one body per ciphertext, and the keyring cache follows settings."""

import base64

import pytest
from django.test import override_settings

from platos.core import envelope
from platos.core.envelope import DecryptionError, decrypt, encrypt, token_key_id
from platos.core.keys import load_keyrings

K1 = "1f2e3d4c5b6a79881f2e3d4c5b6a7988"
K2 = "88796a5b4c3d2e1f88796a5b4c3d2e1f"
ENV = {"ENCRYPTION_KEY": K1, "PLATOS_MESSAGE_ENCRYPTION_KEY": "c" * 64}

# Written by the binascii implementation before pybase64 (nonce 00 01 .. 0b), under K1,
# context "t.Model.f". Body lengths cover len % 4 == 2, 0 and 3, and both "-" and "_".
VECTORS = {
    "": "pv1:531a7056e8f2:AAECAwQFBgcICQoL2l-X3OoOPBKaP1T93ihv7g",
    "ünïcode vector": "pv1:531a7056e8f2:AAECAwQFBgcICQoL69Oqa5ndhHN4VIxqpY4kSrXoYPWAeoeN6VF5tiJrPa0",
    "x" * 31: "pv1:531a7056e8f2:AAECAwQFBgcICQoLUBe80E7Gk29lDIJ3voIzQD2ACbndR0ykq4c6yRTTcgQ-wcbbI8L8pB_afnJeFg0",
}


@pytest.fixture
def k1():
    with override_settings(PLATOS_KEYRINGS=load_keyrings(ENV)):
        yield


@pytest.mark.parametrize("text", list(VECTORS))
def test_frozen_vectors_decrypt_and_encrypt_byte_for_byte(k1, text, monkeypatch):
    assert decrypt(VECTORS[text], keyring="encryption", context="t.Model.f") == text
    monkeypatch.setattr(envelope._nonces, "take", lambda: bytes(range(12)))
    assert encrypt(text, keyring="encryption", context="t.Model.f") == VECTORS[text]


def _variants(token):
    """Other spellings of the same body bytes that a lax base64 decoder would accept."""
    head, body = token[: envelope.HEADER_LEN], token[envelope.HEADER_LEN :]
    std = base64.b64encode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))).decode()
    yield "standard alphabet", head + std.rstrip("=")
    yield "padded", head + std.replace("+", "-").replace("/", "_")
    yield "padded alone", head + body + "=" * (-len(body) % 4)
    yield "newline", head + body[:10] + "\n" + body[10:]
    yield "non-ascii", head + body[:10] + "é" + body[10:]
    yield "space", head + body + " "
    if len(body) % 4 in (2, 3):  # the unused low bits of the last character set
        alphabet = envelope._B64URL_ALPHABET
        last = alphabet.index(body[-1])
        yield "non-canonical tail", head + body[:-1] + alphabet[last | 1]


@pytest.mark.parametrize("text", list(VECTORS))
def test_one_body_per_ciphertext(k1, text):
    token = VECTORS[text]
    variants = dict(_variants(token))
    assert "standard alphabet" in variants and len(variants) >= 6
    for name, other in variants.items():
        if other == token:
            continue  # e.g. a body with neither "-" nor "_" spells the same in both alphabets
        with pytest.raises(DecryptionError, match="malformed body"):
            decrypt(other, keyring="encryption", context="t.Model.f")
            pytest.fail(f"the {name} variant decrypted")


def test_a_body_with_plus_or_slash_is_refused_even_if_it_would_authenticate(k1):
    token = VECTORS["x" * 31]
    assert "-" in token and "_" in token
    swapped = token[: envelope.HEADER_LEN] + token[envelope.HEADER_LEN :].replace("-", "+").replace("_", "/")
    with pytest.raises(DecryptionError, match="malformed body"):
        decrypt(swapped, keyring="encryption", context="t.Model.f")


def test_empty_body_is_refused(k1):
    with pytest.raises(DecryptionError):
        decrypt("pv1:531a7056e8f2:", keyring="encryption", context="t.Model.f")


def test_keyring_cache_follows_override_settings():
    old = encrypt("x", keyring="encryption", context="c")
    rings = load_keyrings({**ENV, "ENCRYPTION_KEY_NEXT": K2})
    with override_settings(PLATOS_KEYRINGS=rings):
        assert envelope.get_keyring("encryption") is rings["encryption"]
        assert token_key_id(encrypt("x", keyring="encryption", context="c")) == rings["encryption"].next.id
    # Back to the suite's keys once the override ends: the cache was dropped again.
    assert token_key_id(encrypt("x", keyring="encryption", context="c")) == token_key_id(old)
    assert decrypt(old, keyring="encryption", context="c") == "x"


def test_keyring_cache_follows_pytest_settings_fixture(settings):
    settings.PLATOS_KEYRINGS = load_keyrings(ENV)
    assert token_key_id(encrypt("x", keyring="encryption", context="c")) == "531a7056e8f2"


def test_field_context_is_computed_once_per_model():
    from tests.testapp.models import Note

    field = Note._meta.get_field("data")
    assert field.context == f"{Note._meta.label}.data"
    assert field.__dict__["_context"] == field.context
