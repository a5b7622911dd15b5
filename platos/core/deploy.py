"""Settings-time rules for a deployment: Django's secret key, the public URL, connections.

Imported by ``platos/settings.py`` before Django is set up (standard library only),
like ``platos.core.keys``. Every refusal is one message that names the variable and the
fix and never shows the value of a secret; settings turn it into ``sys.exit``.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

SECRET_KEY_MIN_LENGTH = 50  # Django's own deploy check (security.W009) uses the same rule
SECRET_KEY_MIN_UNIQUE = 5
GENERATE_COMMAND = ".venv/bin/python manage.py generate_keys --write .env"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DEFAULT_CONN_MAX_AGE = 60


class DeployConfigError(Exception):
    """A deployment variable is missing or malformed. The message never holds a secret."""


def new_secret_key() -> str:
    """A Django SECRET_KEY: 50 random bytes, URL-safe text (67 characters)."""
    return secrets.token_urlsafe(50)


def check_secret_key(value: str | None, *, debug: bool) -> str:
    """Return the key, or raise DeployConfigError saying what is wrong (never the value).

    Missing is refused always (a traceback from ``env.str`` helps nobody); short,
    low-variety or Django's ``django-insecure-`` placeholder only when DEBUG is off,
    by the rule of Django's security.W009.
    """
    fix = (
        f"Fix: run `{GENERATE_COMMAND}` (adds DJANGO_SECRET_KEY when it is missing, never "
        "replaces one), or set it to the output of "
        "`.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
    if not value:
        raise DeployConfigError(f"DJANGO_SECRET_KEY is not set (found 0 characters). {fix}")
    if debug:
        return value
    if value.startswith("django-insecure-"):
        raise DeployConfigError(
            "DJANGO_SECRET_KEY is a Django development placeholder (it starts with "
            f"'django-insecure-') and DJANGO_DEBUG is off. {fix}"
        )
    if len(value) < SECRET_KEY_MIN_LENGTH or len(set(value)) < SECRET_KEY_MIN_UNIQUE:
        raise DeployConfigError(
            f"DJANGO_SECRET_KEY is too weak for DJANGO_DEBUG=false: found {len(value)} "
            f"characters ({len(set(value))} different), expected at least "
            f"{SECRET_KEY_MIN_LENGTH} with at least {SECRET_KEY_MIN_UNIQUE} different. {fix}"
        )
    return value


def parse_public_url(value: str) -> tuple[str, str]:
    """``PLATOS_PUBLIC_URL`` -> (its origin, without a trailing slash; its host name)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
        raise DeployConfigError(
            f"PLATOS_PUBLIC_URL must be the site's base URL with scheme and host and no "
            f"path, like https://platos.example.com (found {value!r}). Fix: set it to the "
            "address users type, or unset it for the local default "
            f"{DEFAULT_PUBLIC_URL}."
        )
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin, parts.hostname


def whole_number(name: str, value: str | None, *, default: int | None) -> int | None:
    """A variable that holds a count of seconds: unset -> default, else a whole number >= 0."""
    if value is None or value == "":
        return default
    if not value.strip().isdigit():
        raise DeployConfigError(
            f"{name} must be a whole number of seconds (found {value!r}). Fix: set it to "
            f"a number like 60, or unset it for the default ({default})."
        )
    return int(value)


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def connection_defaults(database: dict, *, conn_max_age: int | None) -> dict:
    """Persistent connections unless DATABASE_URL says otherwise.

    Precedence: DATABASE_URL's ``conn_max_age`` / ``conn_health_checks`` parameters,
    then ``DJANGO_CONN_MAX_AGE``, then 60 s with health checks on (a connection that
    died while idle is replaced before the request uses it).
    """
    database = dict(database)
    if "CONN_MAX_AGE" not in database:
        database["CONN_MAX_AGE"] = DEFAULT_CONN_MAX_AGE if conn_max_age is None else conn_max_age
    # django-environ hands the URL parameter over as text ("false" would be truthy).
    database["CONN_HEALTH_CHECKS"] = _as_bool(database.get("CONN_HEALTH_CHECKS", True))
    return database


def boot_message(error: DeployConfigError) -> str:
    """The one message every entry point prints, in the style of ``platos.core.keys.boot_message``."""
    return (
        "Platos cannot start: the deployment settings are not configured correctly.\n"
        f"- {error}\n"
        "See README.md, 'Self-hosting'."
    )
