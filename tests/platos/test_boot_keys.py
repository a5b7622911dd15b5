"""Keys are checked at boot: every entry point stops with one clear message that
names the variable and never shows the key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from platos.core.keys import EXAMPLE_KEY_VALUES, KeyConfigError, load_keyrings, parse_key

ROOT = Path(__file__).resolve().parents[2]
GOOD_ENC = "a3f09c1e5b7d2468ace0135798bdf024"  # 32 ASCII bytes (openssl rand -hex 16)
GOOD_MSG_HEX = "9b" * 16 + "4c" * 16  # 64 hex characters (openssl rand -hex 32)


def boot(extra_env, *argv):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ENCRYPTION_KEY", "PLATOS_MESSAGE_ENCRYPTION_KEY", "DJANGO_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="platos.settings",
        DJANGO_READ_DOT_ENV_FILE="false",
        DJANGO_SECRET_KEY="boot-test-secret-" + "x1y2z3" * 9,
        DATABASE_URL="sqlite:///:memory:",
        **extra_env,
    )
    env.pop("REDIS_URL", None)
    cmd = [sys.executable, *(argv or ["manage.py", "check"])]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


BAD_CASES = {
    "missing": ({"PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG_HEX}, "ENCRYPTION_KEY", None),
    "empty": ({"ENCRYPTION_KEY": "", "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG_HEX}, "ENCRYPTION_KEY", None),
    "31 bytes": ({"ENCRYPTION_KEY": GOOD_ENC[:31], "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG_HEX},
                 "ENCRYPTION_KEY", GOOD_ENC[:31]),
    "33 bytes": ({"ENCRYPTION_KEY": GOOD_ENC + "x", "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG_HEX},
                 "ENCRYPTION_KEY", GOOD_ENC + "x"),
    "64 non-hex": ({"ENCRYPTION_KEY": GOOD_ENC, "PLATOS_MESSAGE_ENCRYPTION_KEY": "zz" + GOOD_MSG_HEX[2:]},
                   "PLATOS_MESSAGE_ENCRYPTION_KEY", "zz" + GOOD_MSG_HEX[2:]),
    "trailing newline": ({"ENCRYPTION_KEY": GOOD_ENC + "\n", "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG_HEX},
                         "ENCRYPTION_KEY", GOOD_ENC),
    "same key twice": ({"ENCRYPTION_KEY": GOOD_ENC, "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_ENC},
                       "PLATOS_MESSAGE_ENCRYPTION_KEY", GOOD_ENC),
    "NEXT == current": ({"ENCRYPTION_KEY": GOOD_ENC, "ENCRYPTION_KEY_NEXT": GOOD_ENC,
                         "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG_HEX}, "ENCRYPTION_KEY_NEXT", GOOD_ENC),
    "example value": ({"ENCRYPTION_KEY": "0123456789abcdef0123456789abcdef",
                       "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG_HEX}, "ENCRYPTION_KEY",
                      "0123456789abcdef0123456789abcdef"),
    "base64": ({"ENCRYPTION_KEY": "q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=",
                "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG_HEX}, "ENCRYPTION_KEY",
               "q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng="),
}


@pytest.mark.parametrize("case", BAD_CASES, ids=list(BAD_CASES))
def test_bad_key_stops_manage_py(case):
    env, variable, secret = BAD_CASES[case]
    result = boot(env)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert variable in out
    assert "Platos cannot start" in out
    assert "Traceback" not in out  # one clear message, not a stack
    if secret:
        assert secret not in out
        assert secret.strip() not in out


def test_bad_key_stops_wsgi_import_and_runserver():
    env = {"ENCRYPTION_KEY": GOOD_ENC[:31], "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG_HEX}
    wsgi = boot(env, "-c", "import platos.wsgi")
    assert wsgi.returncode != 0 and "ENCRYPTION_KEY" in wsgi.stderr
    assert GOOD_ENC[:31] not in wsgi.stderr
    runserver = boot(env, "manage.py", "runserver", "--noreload", "127.0.0.1:0")
    assert runserver.returncode != 0 and "ENCRYPTION_KEY has the wrong length" in runserver.stderr


def test_good_key_forms_boot():
    result = boot({"ENCRYPTION_KEY": GOOD_ENC, "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG_HEX})
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_message_reports_length_and_fix():
    with pytest.raises(KeyConfigError) as exc:
        parse_key("ENCRYPTION_KEY", "a" * 31)
    text = str(exc.value)
    assert "found 31 bytes" in text and "expected exactly 32 bytes" in text
    assert "openssl rand -hex 16" in text
    assert "one character off" in text


def test_hints_for_whitespace_and_base64():
    with pytest.raises(KeyConfigError, match="whitespace or a newline"):
        parse_key("ENCRYPTION_KEY", " " + GOOD_ENC)
    with pytest.raises(KeyConfigError, match="looks like base64"):
        parse_key("ENCRYPTION_KEY", "q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=")


def test_accepted_forms_decode_to_32_bytes():
    assert parse_key("X", GOOD_ENC) == GOOD_ENC.encode()
    assert parse_key("X", GOOD_MSG_HEX) == bytes.fromhex(GOOD_MSG_HEX)
    assert len(parse_key("X", "é" * 16)) == 32  # 32 bytes of UTF-8, 16 characters


def test_hex_and_ascii_forms_of_the_same_bytes_are_the_same_key():
    # 64 hex chars that decode to the same 32 bytes as the ASCII key of the other boundary
    with pytest.raises(KeyConfigError, match="hold the same key"):
        load_keyrings({"ENCRYPTION_KEY": GOOD_ENC, "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_ENC.encode().hex()})


def test_env_example_values_are_refused():
    example = (ROOT / ".env.example").read_text()
    shipped = [
        line.split("=", 1)[1]
        for line in example.splitlines()
        if line.split("=", 1)[0].lstrip("# ") in {"ENCRYPTION_KEY", "PLATOS_MESSAGE_ENCRYPTION_KEY"}
    ]
    assert shipped and set(shipped) <= EXAMPLE_KEY_VALUES
    for value in shipped:
        with pytest.raises(KeyConfigError, match="example value"):
            parse_key("ENCRYPTION_KEY", value)


def test_keyring_repr_shows_key_ids_only():
    rings = load_keyrings({"ENCRYPTION_KEY": GOOD_ENC, "PLATOS_MESSAGE_ENCRYPTION_KEY": GOOD_MSG_HEX})
    text = repr(rings) + str(rings["encryption"].current) + repr(rings["messages"].write)
    assert GOOD_ENC not in text and GOOD_MSG_HEX not in text
    assert bytes.fromhex(GOOD_MSG_HEX).hex() not in text
    assert rings["encryption"].current.id in text
