"""Production settings: the secret-key rule, secure defaults with DEBUG off, each override,
and `check --deploy` clean out of the box (with Redis, as a real deployment has)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from platos.core.deploy import DeployConfigError, check_secret_key, connection_defaults, parse_public_url, whole_number

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "ENCRYPTION_KEY": "4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e",
    "PLATOS_MESSAGE_ENCRYPTION_KEY": "e1c3a5f7b9d0e2c4a6f8b0d1e3c5a7f9",
}
SECRET = "deploy-settings-test-secret-" + "q8w7e6r5t4" * 4


def run(code_or_args, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "ENCRYPTION_KEY", "PLATOS_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DJANGO_SETTINGS_MODULE="platos.settings", DJANGO_READ_DOT_ENV_FILE="false",
               DJANGO_SECRET_KEY=SECRET, DATABASE_URL="sqlite:///:memory:", **KEYS)
    env.update(extra)
    env = {k: v for k, v in env.items() if v is not None}
    argv = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def settings_of(*names, **extra):
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            f"print(json.dumps({{n: getattr(s, n, None) for n in {list(names)!r}}}, default=str))")
    done = run(code, **extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_check_deploy_is_clean_with_debug_off_and_redis():
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
               DJANGO_DEBUG="false", REDIS_URL="redis://127.0.0.1:6379/14")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "security." not in out and "platos." not in out
    assert "no issues (2 silenced)" in out  # W005 and W021, while subdomains/preload are off


def test_hsts_opt_ins_are_no_longer_silenced():
    s = settings_of("SILENCED_SYSTEM_CHECKS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
                    DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true", DJANGO_SECURE_HSTS_PRELOAD="true")
    assert s == {"SILENCED_SYSTEM_CHECKS": [], "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_HSTS_PRELOAD": True}


def test_secure_defaults_when_debug_is_off():
    s = settings_of("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
                    "SECURE_PROXY_SSL_HEADER", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "STORAGES")
    assert s["SECURE_SSL_REDIRECT"] is True and s["SECURE_HSTS_SECONDS"] == 31_536_000
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SECURE_PROXY_SSL_HEADER"] is None  # opt-in only
    assert s["ALLOWED_HOSTS"] == ["127.0.0.1"] and s["CSRF_TRUSTED_ORIGINS"] == ["http://127.0.0.1:8000"]
    assert s["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_each_default_is_overridable():
    s = settings_of("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER",
                    "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "PLATOS_PUBLIC_URL",
                    DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_SECURE_HSTS_SECONDS="0", DJANGO_SECURE_COOKIES="false",
                    PLATOS_BEHIND_TLS_PROXY="true", PLATOS_PUBLIC_URL="https://platos.example.com/",
                    DJANGO_CSRF_TRUSTED_ORIGINS="https://a.example.com,https://b.example.com")
    assert s["SECURE_SSL_REDIRECT"] is False and s["SECURE_HSTS_SECONDS"] == 0 and s["SESSION_COOKIE_SECURE"] is False
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["PLATOS_PUBLIC_URL"] == "https://platos.example.com"
    assert s["ALLOWED_HOSTS"] == ["platos.example.com"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://a.example.com", "https://b.example.com"]


def test_debug_keeps_the_development_defaults():
    s = settings_of("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "STORAGES",
                    DJANGO_DEBUG="true", DJANGO_SECRET_KEY="short")
    assert (s["SECURE_SSL_REDIRECT"], s["SECURE_HSTS_SECONDS"], s["SESSION_COOKIE_SECURE"]) == (False, 0, False)
    assert s["STORAGES"]["staticfiles"]["BACKEND"].endswith(".StaticFilesStorage")


@pytest.mark.parametrize("value, says", [
    (None, "DJANGO_SECRET_KEY is not set"),
    ("too-short-secret-value", "found 22 characters"),
])
def test_weak_secret_key_stops_every_entry_point(value, says):
    # manage.py for each case; the WSGI import (gunicorn, any server) for one.
    entry_points = [["manage.py", "check"]] + ([["-c", "import platos.wsgi"]] if value is None else [])
    for argv in entry_points:
        done = run(argv, DJANGO_SECRET_KEY=value)
        out = done.stdout + done.stderr
        assert done.returncode != 0
        assert "Platos cannot start" in out and says in out and "generate_keys --write .env" in out
        assert "Traceback" not in out
        if value:
            assert value not in out


@pytest.mark.parametrize("value, says", [
    ("", "DJANGO_SECRET_KEY is not set"),
    ("a" * 60, "(1 different)"),
    ("django-insecure-" + "x1y2z3w4v5" * 5, "development placeholder"),
])
def test_secret_key_rule_names_the_problem_not_the_value(value, says):
    with pytest.raises(DeployConfigError) as exc:
        check_secret_key(value, debug=False)
    assert says in str(exc.value) and (not value or value not in str(exc.value))


def test_bad_number_is_one_message():
    done = run(["manage.py", "check"], DJANGO_CONN_MAX_AGE="one year")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "DJANGO_CONN_MAX_AGE must be a whole number of seconds (found 'one year')" in done.stderr
    with pytest.raises(DeployConfigError, match="DJANGO_SECURE_HSTS_SECONDS must be a whole number"):
        whole_number("DJANGO_SECURE_HSTS_SECONDS", "1y", default=0)


def test_bad_public_url_is_one_message():
    done = run(["manage.py", "check"], PLATOS_PUBLIC_URL="platos.example.com")
    assert done.returncode != 0 and "PLATOS_PUBLIC_URL must be" in done.stderr and "Traceback" not in done.stderr
    with pytest.raises(DeployConfigError):
        parse_public_url("https://platos.example.com/admin/")


def test_secret_key_rule_matches_djangos_deploy_check():
    assert check_secret_key("short", debug=True) == "short"
    with pytest.raises(DeployConfigError):
        check_secret_key("", debug=True)


def test_persistent_connections_by_default():
    db = settings.DATABASES["default"]
    if "conn_max_age" not in os.environ.get("DATABASE_URL", ""):
        assert db["CONN_MAX_AGE"] == 60
    assert db["CONN_HEALTH_CHECKS"] is True
    assert connection_defaults({}, conn_max_age=None) == {"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    assert connection_defaults({}, conn_max_age=0)["CONN_MAX_AGE"] == 0  # DJANGO_CONN_MAX_AGE
    from_url = {"CONN_MAX_AGE": 5, "CONN_HEALTH_CHECKS": "false"}  # DATABASE_URL's parameters win
    assert connection_defaults(from_url, conn_max_age=30) == {"CONN_MAX_AGE": 5, "CONN_HEALTH_CHECKS": False}


def test_conn_max_age_from_variable_and_url():
    assert settings_of("DATABASES", DJANGO_CONN_MAX_AGE="0")["DATABASES"]["default"]["CONN_MAX_AGE"] == 0
    s = settings_of("DATABASES", DJANGO_CONN_MAX_AGE="0", DATABASE_URL="sqlite:////tmp/x.db?conn_max_age=7")
    assert s["DATABASES"]["default"]["CONN_MAX_AGE"] == 7
