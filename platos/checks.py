"""System checks of the encryption setup (the key format itself is checked at settings load)."""

from django.conf import settings
from django.core import checks

from platos.core.envelope import legacy_plaintext_allowed


@checks.register(checks.Tags.security, deploy=True)
def legacy_plaintext_mode(app_configs, **kwargs):
    if legacy_plaintext_allowed():
        return [
            checks.Warning(
                "PLATOS_ALLOW_LEGACY_PLAINTEXT is on: plaintext values in encrypted "
                "columns are read as they are.",
                hint="Run the rotation command to encrypt them, then turn the mode off.",
                id="platos.W001",
            )
        ]
    return []


@checks.register(checks.Tags.security, deploy=True)
def keyrings_configured(app_configs, **kwargs):
    missing = {"encryption", "messages"} - set(getattr(settings, "PLATOS_KEYRINGS", {}))
    return [
        checks.Error(f"keyring {name!r} is not configured", id="platos.E001")
        for name in sorted(missing)
    ]


def _database_ready() -> bool:
    from django.db import DatabaseError, connection

    try:
        connection.ensure_connection()
    except DatabaseError:
        return False
    return True


@checks.register(checks.Tags.security)
def key_canary(app_configs, **kwargs):
    """A well-formed but wrong key (swapped, mistyped) stops every command that runs checks."""
    from django.db import DatabaseError

    from platos.rotation.canary import CanaryMismatch, canary_verify, mark_verified

    if not _database_ready():
        return []  # no database yet (CI lint, first boot): nothing to compare with
    try:
        canary_verify()
    except CanaryMismatch as exc:
        return [
            checks.Critical(
                str(exc), hint="Compare key ids with `python manage.py key_status`.", id="platos.E010"
            )
        ]
    except DatabaseError:
        return []  # tables not migrated yet: `migrate` writes the canary
    mark_verified()
    return []


@checks.register(checks.Tags.security, deploy=True)
def rows_under_unconfigured_keys(app_configs, **kwargs):
    """While rows remain under a key id no variable holds, they cannot be read."""
    from django.db import DatabaseError

    from platos.rotation.status import key_status

    if not _database_ready():
        return []
    try:
        status = key_status()
    except DatabaseError:
        return []
    warnings = []
    for ring in status["keyrings"]:
        for kid, n in sorted(ring["unconfigured_key_ids"].items()):
            warnings.append(
                checks.Warning(
                    f"keyring '{ring['keyring']}': {n} rows are under key id {kid}, which no "
                    "configured key has: they cannot be decrypted.",
                    hint="Set the key with that id back as the _NEXT key and run the rotation "
                    "command (see `python manage.py key_status`).",
                    id="platos.W010",
                )
            )
    return warnings


@checks.register(checks.Tags.security, deploy=True)
def shared_store_for_several_processes(app_configs, **kwargs):
    if not settings.REDIS_URL:
        return [
            checks.Warning(
                "REDIS_URL is not set: the one-time reveal store and the entity replay guard "
                "are in-process, so with more than one web process a signed request can be "
                "replayed once per process and a parked secret is only in the process that made it.",
                hint="Set REDIS_URL for any deployment with more than one process.",
                id="platos.W020",
            )
        ]
    return []
