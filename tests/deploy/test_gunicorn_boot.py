"""A bad key stops gunicorn itself: no worker respawn loop serving nothing.

Real gunicorn with the repo's gunicorn.conf.py, on SQLite files so both passes run it.
"""

import signal
import subprocess
import time

import pytest

from platos.core.keys import key_id
from tests.deploy.conftest import ROOT, VENV_BIN, clean_env, copy_tree

GOOD_ENC = "5d1f8a3c7e9b2d4f6a8c0e1b3d5f7a9c"
GOOD_MSG = "c2e4a6b8d0f1a3c5e7b9d1f3a5c7e9b0"
OTHER_MSG = "0b9e7c5a3f1d9b7e5c3a1f0d8b6e4c2a"  # well-formed, but not the one the data has
SECRET = "gunicorn-boot-test-secret-key-" + "k9" * 15
BOOT_LIMIT_S = 10


def server_env(tmp_path, **keys):
    return clean_env(
        DJANGO_READ_DOT_ENV_FILE="false", DJANGO_SECRET_KEY=SECRET,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        **keys,
    )


def assert_stops(server, *, must_say, secrets):
    started = time.monotonic()
    code = server.wait_exit(BOOT_LIMIT_S)
    out = server.output()
    assert code is not None, f"gunicorn still running after {BOOT_LIMIT_S}s:\n{out}"
    assert code != 0
    assert time.monotonic() - started < BOOT_LIMIT_S
    assert must_say in out, out
    assert "Traceback" not in out
    for secret in secrets:
        assert secret not in out
    return out


def test_malformed_key_stops_the_master_before_any_worker(tmp_path, gunicorn):
    bad = GOOD_ENC[:31]
    env = server_env(tmp_path, ENCRYPTION_KEY=bad, PLATOS_MESSAGE_ENCRYPTION_KEY=GOOD_MSG)
    server = gunicorn(cwd=ROOT, log_dir=tmp_path, env=env)
    out = assert_stops(server, must_say="ENCRYPTION_KEY has the wrong length", secrets=[bad, GOOD_MSG])
    assert "Platos cannot start" in out
    assert "Booting worker" not in out  # checked in the master, before the fork


def test_wrong_but_valid_key_stops_the_master(tmp_path, gunicorn):
    good = server_env(tmp_path, ENCRYPTION_KEY=GOOD_ENC, PLATOS_MESSAGE_ENCRYPTION_KEY=GOOD_MSG)
    subprocess.run([str(VENV_BIN / "python"), "manage.py", "migrate", "-v0"], cwd=ROOT, env=good,
                   check=True, capture_output=True, timeout=120)
    wrong = {**good, "PLATOS_MESSAGE_ENCRYPTION_KEY": OTHER_MSG}
    server = gunicorn(cwd=ROOT, log_dir=tmp_path, env=wrong)
    out = assert_stops(server, must_say=f"written under key id {key_id(GOOD_MSG.encode())}",
                       secrets=[GOOD_MSG, OTHER_MSG, GOOD_ENC])
    assert "Booting worker" not in out


def test_missing_secret_key_stops_gunicorn_with_one_message(tmp_path, gunicorn):
    env = server_env(tmp_path, ENCRYPTION_KEY=GOOD_ENC, PLATOS_MESSAGE_ENCRYPTION_KEY=GOOD_MSG)
    del env["DJANGO_SECRET_KEY"]
    server = gunicorn(cwd=ROOT, log_dir=tmp_path, env=env)
    assert_stops(server, must_say="DJANGO_SECRET_KEY is not set", secrets=[GOOD_ENC, GOOD_MSG])


@pytest.mark.parametrize("workers", [2])
def test_a_worker_that_meets_a_bad_key_stops_the_master(tmp_path, gunicorn, workers):
    """The key went bad after the master's check (.env edited, then HUP: new workers
    re-read it). The workers exit with gunicorn's boot-error code and the master halts."""
    tree = copy_tree(tmp_path / "tree")
    env_file = tree / ".env"
    env_file.write_text(
        f"ENCRYPTION_KEY={GOOD_ENC}\nPLATOS_MESSAGE_ENCRYPTION_KEY={GOOD_MSG}\nDJANGO_SECRET_KEY={SECRET}\n"
        f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\nDJANGO_STATIC_ROOT={tmp_path / 'static'}\n"
    )
    env = clean_env()
    for args in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([str(VENV_BIN / "python"), "manage.py", *args], cwd=tree, env=env, check=True,
                       capture_output=True, timeout=120)
    server = gunicorn(cwd=tree, log_dir=tmp_path, env=env, workers=workers)
    server.wait_ready()
    bad = GOOD_MSG + "x"
    env_file.write_text(env_file.read_text().replace(GOOD_MSG, bad))
    server.proc.send_signal(signal.SIGHUP)
    out = assert_stops(server, must_say="PLATOS_MESSAGE_ENCRYPTION_KEY has the wrong length", secrets=[bad])
    assert server.proc.returncode == 3  # gunicorn's WORKER_BOOT_ERROR: "Worker failed to boot."
    assert "Worker failed to boot" in out
    assert out.count("Booting worker") <= 2 * workers  # the first pair and the HUP's: no loop
