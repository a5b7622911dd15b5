"""System checks of the audit settings (ids audit.E0xx)."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_retention(app_configs, **kwargs):
    days = getattr(settings, "PLATOS_ADMIN_AUDIT_RETENTION_DAYS", 365)
    if not isinstance(days, int) or days < 1:
        return [Error(
            f"PLATOS_ADMIN_AUDIT_RETENTION_DAYS must be a whole number of days, at least 1 (found {days!r}).",
            hint="Set PLATOS_ADMIN_AUDIT_RETENTION_DAYS=365 (the default) or another positive number.",
            id="audit.E001",
        )]
    return []
