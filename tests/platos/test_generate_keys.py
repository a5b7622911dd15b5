import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from platos.core.deploy import check_secret_key
from platos.core.keygen import main
from platos.core.keys import load_keyrings

ROOT = Path(__file__).resolve().parents[2]


def test_prints_two_fresh_distinct_valid_keys_without_settings():
    # Runs through manage.py before settings load: no key is configured in this env.
    result = subprocess.run(
        [sys.executable, "manage.py", "generate_keys"], cwd=ROOT, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_READ_DOT_ENV_FILE": "false"}, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    pairs = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert set(pairs) == {"ENCRYPTION_KEY", "PLATOS_MESSAGE_ENCRYPTION_KEY", "DJANGO_SECRET_KEY"}
    # The secret key passes the production rule (DEBUG off), and is not a key's twin.
    assert check_secret_key(pairs["DJANGO_SECRET_KEY"], debug=False) == pairs["DJANGO_SECRET_KEY"]
    assert pairs["DJANGO_SECRET_KEY"] not in (pairs["ENCRYPTION_KEY"], pairs["PLATOS_MESSAGE_ENCRYPTION_KEY"])
    assert pairs["ENCRYPTION_KEY"] != pairs["PLATOS_MESSAGE_ENCRYPTION_KEY"]
    rings = load_keyrings(pairs)  # both keys pass the boot check
    assert rings["encryption"].current.id != rings["messages"].current.id


def test_write_adds_missing_and_never_overwrites(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("ENCRYPTION_KEY=keep-me-keep-me-keep-me-keep-me!\n")
    out = io.StringIO()
    assert main(["--write", str(env_file)], out=out) == 0
    text = env_file.read_text()
    assert "ENCRYPTION_KEY=keep-me-keep-me-keep-me-keep-me!\n" in text
    assert text.count("ENCRYPTION_KEY=") == 2  # the kept one + PLATOS_MESSAGE_ENCRYPTION_KEY
    assert "PLATOS_MESSAGE_ENCRYPTION_KEY=" in text
    assert text.count("DJANGO_SECRET_KEY=") == 1  # added without --dev: production needs it too
    assert "DJANGO_DEBUG" not in text  # only --dev turns debug on
    assert "leaving it alone" in out.getvalue() and "unreadable" in out.getvalue()
    assert "keep-me" not in out.getvalue()  # never echoes a key
    before = env_file.read_text()
    main(["--write", str(env_file)], out=io.StringIO())
    assert env_file.read_text() == before  # second run adds nothing


def test_write_dev_creates_a_bootable_env(tmp_path):
    env_file = tmp_path / ".env"
    main(["--write", str(env_file), "--dev"], out=io.StringIO())
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    values = dict(
        line.split("=", 1) for line in env_file.read_text().splitlines() if line and not line.startswith("#")
    )
    assert values["DJANGO_DEBUG"] == "true" and len(values["DJANGO_SECRET_KEY"]) > 40
    load_keyrings(values)


@pytest.mark.django_db
def test_bootstrap_admin_prints_the_password_once():
    first, second = io.StringIO(), io.StringIO()
    call_command("bootstrap_admin", stdout=first)
    call_command("bootstrap_admin", stdout=second)
    password = first.getvalue().split("password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert password not in second.getvalue() and "already exists" in second.getvalue()
