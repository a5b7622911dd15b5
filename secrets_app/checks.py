"""System checks of the secret store (ids platos.W030/E030: provider-key age)."""

from django.conf import settings
from django.core import checks
from django.db import DatabaseError, connection

MAX_NAMED = 10  # a warning names this many due items, then counts the rest


@checks.register(checks.Tags.security)
def rotate_after_days_setting(app_configs, **kwargs):
    days = getattr(settings, "PLATOS_ROTATE_AFTER_DAYS", 90)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        return [checks.Error(
            f"PLATOS_ROTATE_AFTER_DAYS must be a whole number of days, at least 1 (found {days!r}).",
            hint="Set PLATOS_ROTATE_AFTER_DAYS=90 (the default) or another positive number.",
            id="platos.E030",
        )]
    return []


@checks.register(checks.Tags.security, deploy=True)
def provider_keys_due_for_rotation(app_configs, **kwargs):
    """Provider-key secrets older than PLATOS_ROTATE_AFTER_DAYS: rotate them (metadata only)."""
    from secrets_app.key_age import key_age_report, key_age_warnings

    if rotate_after_days_setting(app_configs):
        return []  # the setting itself is wrong: E030 says so
    try:
        connection.ensure_connection()
        report = key_age_report()
    except DatabaseError:
        return []  # no database or tables yet (CI lint, first boot): nothing to age
    lines = key_age_warnings(report)
    if not lines:
        return []
    more = f"; and {len(lines) - MAX_NAMED} more" if len(lines) > MAX_NAMED else ""
    return [checks.Warning(
        f"{len(lines)} provider-key secret(s) are older than PLATOS_ROTATE_AFTER_DAYS "
        f"({report['rotate_after_days']} days): " + "; ".join(lines[:MAX_NAMED]) + more + ".",
        hint="Rotate each (provider-key rotate action or API; a new value for a variable); "
        "`python manage.py key_status` lists them.",
        id="platos.W030",
    )]
