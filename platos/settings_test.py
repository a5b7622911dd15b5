"""Test settings: fixed test keys and SQLite in memory unless DATABASE_URL is set.

The keys below exist only for the test suite; they are not the .env.example values
and are never used by a running server (a test run does not read .env).
"""

import os

os.environ["DJANGO_READ_DOT_ENV_FILE"] = "false"
os.environ.setdefault(
    "DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-" + "0123456789abcdef" * 2
)
os.environ.setdefault("ENCRYPTION_KEY", "7e1b0c5a9d3f48e2a6c4b8d0f2e4a6c8")
os.environ.setdefault("PLATOS_MESSAGE_ENCRYPTION_KEY", "3c9a7e5b1d2f4a6c8e0b2d4f6a8c0e1b")
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")
# Admin MFA is on by default outside DEBUG; the suite turns it on where it tests it.
os.environ.setdefault("PLATOS_REQUIRE_ADMIN_MFA", "false")

from platos.settings import *  # noqa: E402,F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users
# Templates resolve {% static %} from the app directories: the suite does not run
# collectstatic (tests/deploy/ proves the collected, hashed files are served).
# whitenoise looks files up per request (no collected directory to scan at start).
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS = True
# The test client speaks plain HTTP; tests/platos/test_deploy.py checks the real defaults.
SECURE_SSL_REDIRECT = False
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
