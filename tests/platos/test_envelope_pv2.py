"""pv2, the row-bound envelope: the row's identity is in the associated data."""

import base64
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.test import override_settings

from platos.core import envelope
from platos.core.envelope import DecryptionError, decrypt, encode_row, encrypt, rewrap, token_key_id, token_version
from platos.core.keys import load_keyrings

K1 = "1f2e3d4c5b6a79881f2e3d4c5b6a7988"
K2 = "88796a5b4c3d2e1f88796a5b4c3d2e1f"
ENV = {"ENCRYPTION_KEY": K1, "PLATOS_MESSAGE_ENCRYPTION_KEY": "c" * 64}
CTX = "t.Model.f"
ROW = "environment=3&name=OPENAI_KEY&version=2"


@pytest.fixture
def k1():
    with override_settings(PLATOS_KEYRINGS=load_keyrings(ENV)):
        yield


def raw_open(token: str, key: bytes, aad: str) -> bytes:
    _tag, _kid, body = token.split(":")
    blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return AESGCM(key).decrypt(blob[:12], blob[12:], aad.encode())


def test_a_row_seals_pv2_with_the_documented_associated_data(k1):
    token = encrypt("sk-secret", keyring="encryption", context=CTX, row=ROW)
    assert token.startswith("pv2:531a7056e8f2:") and token_version(token) == "pv2"
    assert len(token.split(":")[0]) + 1 + 12 + 1 == envelope.HEADER_LEN  # same head length as pv1
    assert raw_open(token, K1.encode(), f"pv2:531a7056e8f2:{CTX}:{ROW}") == b"sk-secret"
    assert decrypt(token, keyring="encryption", context=CTX, row=ROW) == "sk-secret"


def test_without_a_row_it_is_still_pv1(k1):
    token = encrypt("x", keyring="encryption", context=CTX)
    assert token_version(token) == "pv1" and decrypt(token, keyring="encryption", context=CTX, row=ROW) == "x"


@pytest.mark.parametrize("other", [None, "", "environment=4&name=OPENAI_KEY&version=2",
                                   "environment=3&name=OPENAI_KEY&version=3", ROW + "&x=1"])
def test_a_pv2_token_opens_only_in_its_row(k1, other):
    token = encrypt("sk-secret", keyring="encryption", context=CTX, row=ROW)
    with pytest.raises(DecryptionError) as exc:
        decrypt(token, keyring="encryption", context=CTX, row=other)
    expected = ("row-bound envelope read without its row" if not other
                else "authentication failed (tampered, wrong context, wrong row or wrong key)")
    assert (exc.value.reason, exc.value.key_id, exc.value.context) == (expected, "531a7056e8f2", CTX)
    assert "sk-secret" not in str(exc.value)


def test_the_same_row_in_another_column_does_not_open(k1):
    token = encrypt("sk-secret", keyring="encryption", context=CTX, row=ROW)
    with pytest.raises(DecryptionError, match="wrong row"):
        decrypt(token, keyring="encryption", context=CTX + "x", row=ROW)


def test_rewrap_seals_a_pv1_token_row_bound_and_a_pv2_token_in_its_row(k1):
    old = encrypt("v", keyring="encryption", context=CTX)
    with override_settings(PLATOS_KEYRINGS=load_keyrings({**ENV, "ENCRYPTION_KEY_NEXT": K2})):
        new = rewrap(old, keyring="encryption", context=CTX, row=ROW)
        assert token_version(new) == "pv2" and token_key_id(new) != token_key_id(old)
        assert decrypt(new, keyring="encryption", context=CTX, row=ROW) == "v"
        again = rewrap(new, keyring="encryption", context=CTX, row=ROW)
        assert again != new and decrypt(again, keyring="encryption", context=CTX, row=ROW) == "v"
        with pytest.raises(DecryptionError, match="without its row"):
            rewrap(new, keyring="encryption", context=CTX)
        assert token_version(rewrap(old, keyring="encryption", context=CTX)) == "pv1"


def test_an_empty_row_cannot_bind(k1):
    with pytest.raises(ValueError, match="empty row"):
        encrypt("v", keyring="encryption", context=CTX, row="")


def test_pv2_tokens_are_envelopes_for_every_helper(k1):
    token = encrypt("v", keyring="encryption", context=CTX, row=ROW)
    assert envelope.is_token(token) and token_key_id(token) == "531a7056e8f2"
    assert not envelope.is_legacy_plaintext(token) and not envelope.is_legacy_plaintext("pv2:junk")
    assert envelope.header("531a7056e8f2", "pv2") == "pv2:531a7056e8f2:"
    assert envelope.header("531a7056e8f2") == "pv1:531a7056e8f2:"
    with pytest.raises(ValueError):
        envelope.header("531a7056e8f2", "pv3")
    assert token_version("pv3:531a7056e8f2:AAAA") is None and token_version(None) is None


def test_encode_row_grammar():
    ident = uuid.UUID("12345678-1234-5678-1234-56781234abcd")
    assert encode_row([("id", ident)]) == "id=1234567812345678123456781234abcd"  # 32 lowercase hex
    assert encode_row([("environment", 7), ("name", "A_B"), ("version", 12)]) == "environment=7&name=A_B&version=12"
    # Each part is percent-encoded: "&", "=", ":" and non-ASCII never appear raw.
    assert encode_row([("k", "a&b=c:d/é %")]) == "k=a%26b%3Dc%3Ad%2F%C3%A9%20%25"
    assert encode_row([("a&b", "x")]) == "a%26b=x"
    assert encode_row([("a", "b"), ("c", "d")]) != encode_row([("c", "d"), ("a", "b")])  # order is the model's


@pytest.mark.parametrize("value", [None, True, 1.5, b"x"])
def test_encode_row_refuses_values_without_one_spelling(value):
    with pytest.raises(TypeError, match="row identity 'k' cannot be"):
        encode_row([("k", value)])


def test_encode_row_needs_a_field():
    with pytest.raises(ValueError):
        encode_row([])


def test_the_row_aad_memo_is_bounded():
    envelope._ROW_AAD.clear()
    for i in range(4097):
        envelope._row_aad_head("531a7056e8f2", f"ctx{i}")
    assert envelope._row_aad_head("531a7056e8f2", "one more") == b"pv2:531a7056e8f2:one more:"
    assert len(envelope._ROW_AAD) == 1
