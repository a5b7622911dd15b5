"""System checks of the encryption setup (the key format itself is checked at settings load)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def legacy_plaintext_mode(app_configs, **kwargs):
    if settings.PLATOS_ALLOW_LEGACY_PLAINTEXT:
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
