"""Platos governance settings. Every value comes from the environment (django-environ).

A ``.env`` file next to ``manage.py`` is read when present (``make run`` writes one
with fresh dev keys); real environment variables win over it.
"""

import sys
from pathlib import Path

import environ

from platos.core.deploy import (
    DEFAULT_PUBLIC_URL,
    DeployConfigError,
    check_secret_key,
    connection_defaults,
    parse_public_url,
    whole_number,
)
from platos.core.deploy import boot_message as deploy_boot_message
from platos.core.keys import KeyConfigError, boot_message, load_keyrings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=True):
    environ.Env.read_env(BASE_DIR / ".env")

# --- Keys: checked before anything else can run (runserver, gunicorn, commands, tests).
# Key variables are read raw from the environment: django-environ would treat a
# leading "$" as a reference to another variable, which is wrong for key bytes.
try:
    PLATOS_KEYRINGS = load_keyrings(env.ENVIRON)
except KeyConfigError as exc:
    sys.exit(boot_message(exc))
# Legacy rows written before encryption was switched on: off by default, so a
# plaintext value in an encrypted column reads as an error, never silently.
PLATOS_ALLOW_LEGACY_PLAINTEXT = env.bool("PLATOS_ALLOW_LEGACY_PLAINTEXT", default=False)
# Audit rows older than this are removed by `manage.py purge_audit` (audit/services.py).
PLATOS_ADMIN_AUDIT_RETENTION_DAYS = env.int("PLATOS_ADMIN_AUDIT_RETENTION_DAYS", default=365)
# Previous values kept per env var (secrets_app.services.versions); older ones are deleted.
PLATOS_SECRET_VERSIONS_KEPT = env.int("PLATOS_SECRET_VERSIONS_KEPT", default=10)
# Provider-key secrets older than this many days are flagged for rotation (secrets_app.key_age).
PLATOS_ROTATE_AFTER_DAYS = env.int("PLATOS_ROTATE_AFTER_DAYS", default=90)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# --- Deployment (README "Self-hosting"): secret key, public URL, HTTPS, static files,
# connections. Each value is overridable; the defaults are the production ones
# whenever DEBUG is off. A bad value stops every entry point with one message.
try:
    SECRET_KEY = check_secret_key(env.str("DJANGO_SECRET_KEY", default=""), debug=DEBUG)
    PLATOS_PUBLIC_URL, _public_host = parse_public_url(
        env.str("PLATOS_PUBLIC_URL", default=DEFAULT_PUBLIC_URL)
    )
    SECURE_HSTS_SECONDS = whole_number(
        "DJANGO_SECURE_HSTS_SECONDS", env.ENVIRON.get("DJANGO_SECURE_HSTS_SECONDS"),
        default=0 if DEBUG else 31_536_000,
    )
    _conn_max_age = whole_number("DJANGO_CONN_MAX_AGE", env.ENVIRON.get("DJANGO_CONN_MAX_AGE"), default=None)
except DeployConfigError as exc:
    sys.exit(deploy_boot_message(exc))
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=sorted({_public_host, "127.0.0.1", "localhost"} if DEBUG else {_public_host}),
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[PLATOS_PUBLIC_URL])
# Behind a proxy that terminates TLS and sets X-Forwarded-Proto (and strips it from
# clients). Off by default: trusting the header without such a proxy lets any client
# claim HTTPS.
if env.bool("PLATOS_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /healthz and /readyz answer before SecurityMiddleware (platos/health.py), so a load
# balancer probing over plain HTTP is not redirected.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = []
if not SECURE_HSTS_INCLUDE_SUBDOMAINS:
    # Opt-in: includeSubDomains forces HTTPS on every subdomain of the operator's
    # domain, which this app cannot know are all served over HTTPS.
    SILENCED_SYSTEM_CHECKS.append("security.W005")
if not SECURE_HSTS_PRELOAD:
    # Opt-in: preload lists are baked into browsers and take months to leave.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
WHITENOISE_ROOT = BASE_DIR / "platos" / "public"  # /favicon.ico
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed files from `collectstatic` when DEBUG is off (whitenoise serves
    # them with far-future caching); the app directories as they are in development.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# --- end of deployment block

INSTALLED_APPS = [
    "platos.apps.PlatosAdminConfig",  # django.contrib.admin with the Platos site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",  # API tokens: knox's hashing and lookup, our token model (secrets_app.tokens)
    "django_otp",  # TOTP devices: platos.mfa_device (seeds encrypted), not django-otp's otp_totp
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "platos",
    "audit",
    "secrets_app",
    "secrets_app.tokens",
    "entities",
    "messages_app",
]

MIDDLEWARE = [
    "platos.health.HealthMiddleware",  # first: plain HTTP, any Host header (load balancers)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "platos.middleware.RefuseControlCharactersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "platos.mfa.AdminMfaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "platos.middleware.NoStoreApiMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "platos.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "platos.wsgi.application"
ASGI_APPLICATION = "platos.asgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Take SQLite's write lock when a transaction starts, so two writers (the audit
    # chain reads its head, then appends) queue up instead of failing "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
# Persistent connections (platos/deploy.py): 60 s with health checks unless overridden.
DATABASES["default"] = connection_defaults(
    DATABASES["default"], conn_max_age=_conn_max_age
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# django-environ's cache_url parser turns REDIS_URL into the cache config (django-redis);
# LocMem when unset or empty.
CACHES = {"default": env.cache_url_config(REDIS_URL or "locmemcache://")}
if CACHES["default"]["BACKEND"].startswith("django_redis."):
    # Fail fast when Redis is down (the reveal store and the replay guard report it)
    # instead of hanging every request on redis-py's retries.
    CACHES["default"].setdefault("OPTIONS", {}).update({
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": env.float("PLATOS_REDIS_TIMEOUT", default=2.0),
        "SOCKET_TIMEOUT": env.float("PLATOS_REDIS_TIMEOUT", default=2.0),
    })
    # The replay guard's nonces: the same Redis, under their own key (platos:entity-nonce:...).
    CACHES["nonces"] = {**CACHES["default"], "KEY_FUNCTION": "entities.replay.raw_key"}
else:
    # Not LocMem: it culls live entries past MAX_ENTRIES, and a culled nonce is a replay hole.
    CACHES["nonces"] = {"BACKEND": "entities.replay.NonceMemoryCache", "LOCATION": "platos-nonces"}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
FORMAT_MODULE_PATH = ["platos.formats"]  # timestamps with seconds and time zone
USE_I18N = True
USE_TZ = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "secrets_app.tokens.auth.PlatosTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "platos.api.CursorPage",
    "DEFAULT_PARSER_CLASSES": [
        "platos.parsers.DepthLimitedJSONParser",  # a 400, not a RecursionError, for absurdly nested JSON
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "platos.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Platos governance API",
    "DESCRIPTION": "Secrets, encrypted conversations and audit of the Platos agent platform.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Every operation's errors, pages and parameter bounds, documented in one place.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "platos.openapi.postprocess"],
    "SWAGGER_UI_DIST": "SIDECAR",  # served from the package: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" with different choices: name each enum.
    "ENUM_NAME_OVERRIDES": {
        "MessageStatusEnum": "messages_app.models.Message.Status",
        "ProviderKeyStatusEnum": "secrets_app.models.ProviderKey.Status",
        "EntityStatusEnum": "entities.models.ConnectedEntity.Status",
    },
}

# How many reverse proxies in front of the app append to X-Forwarded-For. 0 (the
# default): the audit log records REMOTE_ADDR and ignores the header, which any
# client can forge.
PLATOS_TRUSTED_PROXIES = env.int("PLATOS_TRUSTED_PROXIES", default=0)

SESSION_COOKIE_HTTPONLY = True

# Redaction is on by default: LOGGING_CONFIG installs a LogRecord factory that redacts
# every record (every logger, every handler, exception text included) and the filter
# below guards the configured handlers as well. See platos/logging.py.
LOGGING_CONFIG = "platos.core.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "platos.core.logging.RedactingFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO"), "filters": ["redact"]},
}

# --- Credentials (API tokens, rate limits, admin MFA and lockout). See README "Credentials".
# API tokens are django-rest-knox tokens: only a SHA-512 digest is stored, `plt_` marks
# them for secret scanners, each carries its own expiry (secrets_app/tokens).
KNOX_TOKEN_MODEL = "tokens.ApiToken"  # noqa: S105 (a model name)
REST_KNOX = {"TOKEN_PREFIX": "plt_", "AUTH_HEADER_PREFIX": "Bearer", "TOKEN_TTL": None, "AUTO_REFRESH": False}
# DRF rate strings ("20/min", "100/hour"); counters in the default cache (Redis when set).
PLATOS_THROTTLE_RATES = {
    "auth_failures_ip": env.str("PLATOS_THROTTLE_AUTH_FAILURES_PER_IP", default="20/min"),
    "auth_failures_entity": env.str("PLATOS_THROTTLE_AUTH_FAILURES_PER_ENTITY", default="60/min"),
    "reveal": env.str("PLATOS_THROTTLE_REVEALS_PER_USER", default="30/min"),
    "runtime_read": env.str("PLATOS_THROTTLE_RUNTIME_READS", default="1200/min"),
}
# Entity request signatures: 1 also accepts version 1 (no method/path signed, each
# acceptance audited); 2 requires X-Platos-Signature-Version: 2 (entities/auth.py).
PLATOS_ENTITY_SIGNATURE_MIN_VERSION = env.int("PLATOS_ENTITY_SIGNATURE_MIN_VERSION", default=1)
# TOTP second factor for superusers and project admins in the admin (platos/mfa.py).
PLATOS_REQUIRE_ADMIN_MFA = env.bool("PLATOS_REQUIRE_ADMIN_MFA", default=not DEBUG)
OTP_TOTP_ISSUER = "Platos"
# Failed admin logins: django-axes locks a username+IP pair out after
# AXES_FAILURE_LIMIT failures for AXES_COOLOFF_TIME hours; records in the database.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("PLATOS_ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("PLATOS_ADMIN_LOCKOUT_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_DISABLE_ACCESS_LOG = True  # successful logins are audit rows already
AXES_CLIENT_IP_CALLABLE = "platos.mfa.axes_client_ip"
AXES_LOCKOUT_TEMPLATE = "admin/platos/locked_out.html"
