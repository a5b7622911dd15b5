"""Envelope branches the mutation run showed untested (README "Mutation testing").

Each test pins behaviour a caller relies on: lone surrogates round-trip byte-exactly,
each of the body checks refuses on its own, every failure is a DecryptionError that
names its reason, keyring, context and key id, and the keyring cache is dropped only
for its own setting.
"""

import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.test import override_settings

from platos.core import envelope
from platos.core.envelope import DecryptionError, decrypt, encrypt, rewrap, token_key_id
from platos.core.keys import load_keyrings

K1 = "1f2e3d4c5b6a79881f2e3d4c5b6a7988"
ENV = {"ENCRYPTION_KEY": K1, "PLATOS_MESSAGE_ENCRYPTION_KEY": "c" * 64}
CTX = "t.Model.f"
# The frozen vector of "x" * 31 (tests/platos/test_envelope_format.py): its body has "-" and "_".
X31 = "pv1:531a7056e8f2:AAECAwQFBgcICQoLUBe80E7Gk29lDIJ3voIzQD2ACbndR0ykq4c6yRTTcgQ-wcbbI8L8pB_afnJeFg0"


@pytest.fixture
def k1():
    rings = load_keyrings(ENV)
    with override_settings(PLATOS_KEYRINGS=rings):
        yield rings["encryption"]


def raw_open(token: str, key: bytes, context: str) -> bytes:
    """The plaintext bytes of a token, opened with a bare AESGCM call."""
    kid, body = token.split(":")[1:]
    blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return AESGCM(key).decrypt(blob[:12], blob[12:], f"pv1:{kid}:{context}".encode())


@pytest.mark.parametrize("text", ["a\ud800b", "\udfff", "x\udc80\ud83d\ude00"])
def test_lone_surrogates_round_trip_exactly(k1, text):
    token = encrypt(text, keyring="encryption", context=CTX)
    assert raw_open(token, K1.encode(), CTX) == text.encode("utf-8", "surrogatepass")
    assert decrypt(token, keyring="encryption", context=CTX) == text
    assert decrypt(rewrap(token, keyring="encryption", context=CTX), keyring="encryption", context=CTX) == text


def test_plain_text_is_stored_as_utf8(k1):
    token = encrypt("ünï", keyring="encryption", context=CTX)
    assert raw_open(token, K1.encode(), CTX) == "ünï".encode()


def test_plaintext_that_is_not_utf8_is_a_decryption_error(k1):
    token = envelope._seal(b"\xff\xfe", k1.write, CTX)  # only possible by hand
    with pytest.raises(DecryptionError) as exc:
        decrypt(token, keyring="encryption", context=CTX)
    assert exc.value.reason == "not text"
    assert exc.value.key_id == k1.write.id == "531a7056e8f2"
    assert (exc.value.keyring, exc.value.context) == ("encryption", CTX)


@pytest.mark.parametrize("value", [None, 42, b"pv1:531a7056e8f2:AAAA", ["pv1:"], X31.encode()])
def test_decrypt_of_a_non_str_is_a_decryption_error(k1, value):
    with pytest.raises(DecryptionError) as exc:
        decrypt(value, keyring="encryption", context=CTX)
    assert exc.value.reason == "not an envelope" and exc.value.key_id is None


def test_decryption_error_carries_reason_keyring_context_and_key_id(k1):
    forged = X31[:-6] + ("AAAAAA" if not X31.endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(DecryptionError) as exc:
        decrypt(forged, keyring="encryption", context=CTX)
    err = exc.value
    assert err.reason == "authentication failed (tampered, wrong context or wrong key)"
    assert (err.keyring, err.context, err.key_id) == ("encryption", CTX, "531a7056e8f2")
    assert str(err) == (
        "cannot decrypt (authentication failed (tampered, wrong context or wrong key)): "
        f"keyring=encryption context={CTX} key_id=531a7056e8f2"
    )
    assert (err.status_code, err.code) == (409, "decryption_failed")
    assert err.public_detail() == "The stored value could not be decrypted."
    assert err.public_extra() == {"key_id": "531a7056e8f2"}


def test_a_failure_without_a_key_id_says_unknown():
    err = DecryptionError("not an envelope", keyring="messages", context="c")
    assert str(err) == "cannot decrypt (not an envelope): keyring=messages context=c key_id=unknown"
    assert err.public_extra() == {"key_id": None}


@pytest.mark.parametrize(
    ("token", "reason", "key_id"),
    [
        ("", "not an envelope", None),
        ("pv3:531a7056e8f2:AAAA", "not an envelope", None),  # an unknown version tag
        ("pv2:531a7056e8f2:AAAA", "row-bound envelope read without its row", "531a7056e8f2"),
        ("pv2:000000000000:AAAA", "key id not configured", "000000000000"),
        ("pv1:531a7056e8f2-AAAA", "not an envelope", None),
        ("pv1:531a7056e8f2", "not an envelope", None),
        ("pv1:000000000000:AAAA", "key id not configured", "000000000000"),
        ("pv1:ZZZZZZZZZZZZ:AAAA", "key id not configured", None),  # junk is never echoed as a key id
        ("pv1:531a7056e8f2:", "malformed body", "531a7056e8f2"),
        ("pv1:531a7056e8f2:" + "A" * 36, "truncated", "531a7056e8f2"),  # 27 bytes < nonce + tag
        ("pv1:531a7056e8f2:" + "A" * 38, "authentication failed (tampered, wrong context or wrong key)",
         "531a7056e8f2"),  # exactly nonce + tag (28 bytes): long enough, then the tag fails
    ],
)
def test_each_refusal_names_its_reason(k1, token, reason, key_id):
    with pytest.raises(DecryptionError) as exc:
        decrypt(token, keyring="encryption", context=CTX)
    assert (exc.value.reason, exc.value.key_id) == (reason, key_id)
    # Every refusal also names where it happened, so an operator can find the row's column.
    assert (exc.value.keyring, exc.value.context) == ("encryption", CTX)


@pytest.mark.parametrize("junk", [".", "!", "*", "~", " ", "\t", "\n", "$"])
def test_a_character_outside_the_alphabet_is_refused_not_skipped(k1, junk):
    """A lenient decoder skips such characters: two token strings would open to one plaintext."""
    assert decrypt(X31, keyring="encryption", context=CTX) is not None
    head, body = X31[: envelope.HEADER_LEN], X31[envelope.HEADER_LEN :]
    # Four of them keep the body's length class, so only the alphabet check can tell.
    forged = head + body[:20] + junk * 4 + body[20:]
    with pytest.raises(DecryptionError) as exc:
        decrypt(forged, keyring="encryption", context=CTX)
    assert exc.value.reason == "malformed body"


@pytest.mark.parametrize(("value", "name"), [(42, "int"), (b"bytes", "bytes"), (None, "NoneType")])
def test_encrypt_names_the_type_it_refuses(k1, value, name):
    with pytest.raises(TypeError, match=f"^encrypt\\(\\) takes str, not {name}$"):
        encrypt(value, keyring="encryption", context=CTX)


@pytest.mark.parametrize(("swap", "char"), [("-", "+"), ("_", "/")])
def test_plus_and_slash_are_each_refused_alone(k1, swap, char):
    head, body = X31[: envelope.HEADER_LEN], X31[envelope.HEADER_LEN :]
    other = head + body.replace(swap, char)
    assert other != X31 and ("+" in other) != ("/" in other)
    with pytest.raises(DecryptionError, match="malformed body"):
        decrypt(other, keyring="encryption", context=CTX)


def test_rewrap_failures_name_the_keyring_and_context(k1):
    with pytest.raises(DecryptionError) as exc:
        rewrap(X31, keyring="encryption", context="elsewhere")
    assert (exc.value.keyring, exc.value.context, exc.value.key_id) == ("encryption", "elsewhere", "531a7056e8f2")


def test_a_forked_child_starts_a_fresh_nonce_block():
    import os

    parent_first = envelope._nonces.take()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # whatever happens in the child, it must not go on running the suite
        try:
            os.write(write, envelope._nonces.take())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64)
    os.close(read)
    assert len(child) == 12 and child not in (parent_first, envelope._nonces.take())


def test_the_canonical_token_itself_decrypts(k1):
    assert decrypt(X31, keyring="encryption", context=CTX) == "x" * 31


@pytest.mark.parametrize("at", [4, 20, -2])
def test_an_equals_sign_inside_the_body_is_refused(k1, at):
    head, body = X31[: envelope.HEADER_LEN], X31[envelope.HEADER_LEN :]
    other = head + body[:at] + "=" + body[at:]
    with pytest.raises(DecryptionError, match="malformed body"):
        decrypt(other, keyring="encryption", context=CTX)


def test_keyring_cache_is_dropped_only_for_its_own_setting(k1):
    ring = envelope.get_keyring("encryption")
    assert ring is k1
    envelope._forget_keyrings(setting="SOMETHING_ELSE")
    assert envelope._rings is not None and envelope._rings["encryption"] is k1
    envelope._forget_keyrings(setting="PLATOS_KEYRINGS")
    assert envelope._rings is None
    assert envelope.get_keyring("encryption") is k1


def test_unknown_keyring_names_it():
    with pytest.raises(envelope.EncryptionUnavailable, match="no keyring named 'nope' is configured"):
        envelope.get_keyring("nope")


def test_aad_is_the_documented_string_and_its_memo_is_bounded():
    assert envelope._aad("531a7056e8f2", "a.B.c") == b"pv1:531a7056e8f2:a.B.c"
    envelope._AAD.clear()
    for i in range(4097):
        envelope._aad("531a7056e8f2", f"ctx{i}")
    assert len(envelope._AAD) == 4097
    assert envelope._aad("531a7056e8f2", "one more") == b"pv1:531a7056e8f2:one more"
    assert len(envelope._AAD) == 1  # cleared, then the new entry


def test_token_helpers():
    assert envelope.header("531a7056e8f2") == "pv1:531a7056e8f2:"
    assert token_key_id(X31) == "531a7056e8f2"
    junks = (None, "", "pv1:531a7056e8f2", "pv1:531a7056e8f2:", "pv1:531a7056e8f2-AAAA", "pv1:531A7056E8F2:AAAA",
             "pv3:531a7056e8f2:A")
    for junk in junks:
        assert token_key_id(junk) is None
        assert not envelope.is_token(junk)
    assert envelope.is_token(X31)
    assert not envelope.is_token(X31[: envelope.HEADER_LEN] + "AA+A")
    assert envelope.is_legacy_plaintext("hello") and not envelope.is_legacy_plaintext("pv1:junk")


def test_reset_drops_the_block_in_process():
    # What the fork hook runs in a child; called here so that mutmut (which records only
    # in-process calls) runs this test against the mutants of reset().
    source = envelope._NonceSource()
    first = source.take()
    source.reset()
    assert (source._block, source._at) == (b"", 0)
    second = source.take()
    assert len(second) == 12 and second != first and source._at == 12
