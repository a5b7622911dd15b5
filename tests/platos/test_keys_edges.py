"""Key parsing and boot-message branches the mutation run showed untested (README "Mutation testing").

The boot messages are asserted word for word where they matter: each names the
variable, what was found, what is expected and the fix, and never the key.
"""

import copy
import pickle

import pytest

from platos.core.keys import (
    Key,
    KeyConfigError,
    _KeyBytes,
    boot_message,
    key_id,
    load_keyrings,
    parse_key,
)

GOOD_ENC = "a3f09c1e5b7d2468ace0135798bdf024"
GOOD_MSG = "9b" * 16 + "4c" * 16
OTHER = "5e" * 32
FIX = (
    "generate one with `openssl rand -hex 16` (32 characters) or `openssl rand -hex 32` "
    "(64 hex characters), or run `python manage.py generate_keys`"
)


def problem(name, value):
    with pytest.raises(KeyConfigError) as exc:
        parse_key(name, value)
    return str(exc.value)


@pytest.mark.parametrize("value", [None, ""])
def test_missing_key_message(value):
    assert problem("ENCRYPTION_KEY", value) == (
        "ENCRYPTION_KEY is not set (found 0 bytes; expected exactly 32 bytes of UTF-8 or 64 hex "
        f"characters). There is no default key: {FIX}."
    )


def test_example_value_message():
    assert problem("X_KEY", "fedcba9876543210fedcba9876543210") == (
        f"X_KEY is the example value from .env.example, which is public; {FIX}."
    )


def test_whitespace_message():
    assert problem("X_KEY", GOOD_ENC + "\n") == (
        "X_KEY has surrounding whitespace or a newline: found 33 bytes, expected exactly 32 bytes of "
        "UTF-8 or 64 hex characters with nothing around them. Fix: remove the whitespace, or "
        f"{FIX}."
    )


def test_lone_surrogate_key_is_not_utf8():
    text = problem("X_KEY", "a" * 31 + "\ud800")
    assert text == f"X_KEY is not valid UTF-8 text (34 bytes); {FIX}."
    assert "a" * 31 not in text


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("a" * 31, "; hint: it is one character off: was a character lost or added when pasting?"),
        ("a" * 33, "; hint: it is one character off: was a character lost or added when pasting?"),
        ("a" * 63, "; hint: it is one character off: was a character lost or added when pasting?"),
        ("a" * 65, "; hint: it is one character off: was a character lost or added when pasting?"),
        ("g" * 64, "; hint: it has 64 characters but is not hex"),
        ("q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=", "; hint: it looks like base64 (a Fernet key?); "
         "base64 is not accepted"),
        ("q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng", "; hint: it looks like base64 (a Fernet key?); "
         "base64 is not accepted"),  # 43 characters, padding dropped
        ("q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vn_-", ""),  # 44 base64url characters, 33 bytes: no hint
        ("q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vn!=", ""),  # not base64 at all
        ("A" * 41 + "==", ""),  # base64-shaped, but not decodable: no hint
        ("a" * 30, ""),
        ("a" * 62, ""),
    ],
)
def test_length_message_and_hints(value, hint):
    n = len(value.encode())
    assert problem("X_KEY", value) == (
        f"X_KEY has the wrong length: found {n} bytes, expected exactly 32 bytes of UTF-8 or 64 hex "
        f"characters{hint}. Fix: {FIX}."
    )


def test_a_64_character_utf8_key_is_a_length_error_not_a_hex_hint():
    assert "hint: it has 64 characters" in problem("X_KEY", "é" * 32 + "a" * 32)


def test_upper_case_hex_is_accepted():
    assert parse_key("X", GOOD_MSG.upper()) == bytes.fromhex(GOOD_MSG)


def test_key_bytes_never_pickle_or_show():
    ring = load_keyrings({"ENCRYPTION_KEY": GOOD_ENC, "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG})
    material = ring["encryption"].current.material
    for thing in (material, ring["encryption"].current, ring):
        with pytest.raises(TypeError, match="^key material cannot be pickled$"):
            pickle.dumps(thing)
        with pytest.raises(TypeError, match="^key material cannot be pickled$"):
            copy.deepcopy(thing)
    assert repr(material) == str(material) == "<key bytes redacted>"
    assert material.reveal() == GOOD_ENC.encode()


def test_key_from_bytes_and_its_cipher():
    key = Key.from_bytes(b"k" * 32, variable="V")
    assert (key.id, key.variable) == (key_id(b"k" * 32), "V")
    assert isinstance(key.material, _KeyBytes) and key.material.reveal() == b"k" * 32
    assert key.cipher is key.cipher  # made once
    nonce = b"\x00" * 12
    assert key.cipher.decrypt(nonce, key.cipher.encrypt(nonce, b"x", b"ad"), b"ad") == b"x"


def test_keyrings_write_with_next_and_list_both_keys():
    rings = load_keyrings({
        "ENCRYPTION_KEY": GOOD_ENC, "ENCRYPTION_KEY_NEXT": OTHER, "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG,
    })
    enc, msg = rings["encryption"], rings["messages"]
    assert set(rings) == {"encryption", "messages"}
    assert (enc.name, msg.name) == ("encryption", "messages")
    assert enc.current.variable == "ENCRYPTION_KEY" and enc.next.variable == "ENCRYPTION_KEY_NEXT"
    assert enc.write is enc.next and msg.write is msg.current and msg.next is None
    assert enc.keys == {enc.current.id: enc.current, enc.next.id: enc.next}
    assert msg.keys == {msg.current.id: msg.current}
    assert repr(enc) == f"Keyring('encryption', current={enc.current.id}, next={enc.next.id})"
    assert repr(msg) == f"Keyring('messages', current={msg.current.id}, next=None)"


def test_an_empty_next_variable_means_not_set():
    rings = load_keyrings(
        {"ENCRYPTION_KEY": GOOD_ENC, "ENCRYPTION_KEY_NEXT": "", "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG}
    )
    assert rings["encryption"].next is None


def test_every_problem_is_listed_in_one_error():
    with pytest.raises(KeyConfigError) as exc:
        load_keyrings({"ENCRYPTION_KEY": "short", "ENCRYPTION_KEY_NEXT": "also short",
                       "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT": GOOD_MSG})
    lines = str(exc.value).split("\n")
    assert [line.split(" ", 2)[:2] for line in lines] == [
        ["-", "ENCRYPTION_KEY"], ["-", "ENCRYPTION_KEY_NEXT"], ["-", "PLATOS_MESSAGE_ENCRYPTION_KEY"],
    ]
    assert lines[2].startswith("- PLATOS_MESSAGE_ENCRYPTION_KEY is not set")


def test_duplicate_key_messages_name_both_variables_and_the_key_id():
    kid = key_id(GOOD_ENC.encode())
    with pytest.raises(KeyConfigError) as exc:
        load_keyrings(
            {"ENCRYPTION_KEY": GOOD_ENC, "ENCRYPTION_KEY_NEXT": GOOD_ENC, "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG}
        )
    assert str(exc.value) == (
        f"- ENCRYPTION_KEY_NEXT is the same key as ENCRYPTION_KEY (key id {kid}); "
        "set ENCRYPTION_KEY_NEXT to a new key to rotate, or unset it."
    )
    with pytest.raises(KeyConfigError) as exc:
        load_keyrings({"ENCRYPTION_KEY": GOOD_ENC, "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_ENC})
    assert str(exc.value) == (
        f"- PLATOS_MESSAGE_ENCRYPTION_KEY and ENCRYPTION_KEY hold the same key (key id {kid}); "
        "each boundary needs its own key."
    )
    with pytest.raises(KeyConfigError, match="PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT and ENCRYPTION_KEY_NEXT hold"):
        load_keyrings({"ENCRYPTION_KEY": GOOD_ENC, "ENCRYPTION_KEY_NEXT": OTHER,
                       "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG, "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT": OTHER})


def test_a_missing_current_key_does_not_hide_a_duplicate_next_key():
    with pytest.raises(KeyConfigError) as exc:
        load_keyrings({"ENCRYPTION_KEY_NEXT": GOOD_MSG, "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG})
    lines = str(exc.value).split("\n")
    assert lines[0].startswith("- ENCRYPTION_KEY is not set")
    assert lines[1].startswith("- PLATOS_MESSAGE_ENCRYPTION_KEY and ENCRYPTION_KEY_NEXT hold the same key")
    assert len(lines) == 2


def test_boot_message_in_process():
    # The same text every entry point prints (tests/platos/test_boot_keys.py checks it in subprocesses).
    assert boot_message(KeyConfigError("- ENCRYPTION_KEY is not set")) == (
        "Platos cannot start: the encryption keys are not configured correctly.\n"
        "- ENCRYPTION_KEY is not set\n"
        "See README.md, 'Fix an ENCRYPTION_KEY length error'."
    )
