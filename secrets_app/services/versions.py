"""Version history of env vars: keep, trim, reveal, roll back, destroy.

Every change of a variable's value first archives the value it replaces
(:func:`env_var_version_archive`, called by the writers with the row locked), so an
overwritten secret can be seen again (an audited reveal) or restored (a rollback
writes a *new* version holding the old value). Destroy wipes one archived value for
good and keeps its metadata.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit.models import AuditEvent
from platos.core.fields import Undecryptable
from secrets_app.models import EnvironmentVariable, EnvironmentVariableVersion
from secrets_app.services.env_vars import (
    _audit,
    _refuse_provider_key_var,
    audited_reveal,
    env_var_version_archive,
    env_var_version_save,
    replaced_age,
    validate_secret_text,
)
from secrets_app.values import SecretValue

Action = AuditEvent.Action


def env_var_version_list(*, variable: EnvironmentVariable):
    """A variable's archived versions, newest first: metadata only (the value is never decrypted)."""
    return EnvironmentVariableVersion.objects.filter(variable=variable).defer("value").select_related(
        "created_by", "archived_by"
    )


def env_var_version_get(*, variable: EnvironmentVariable, version: int) -> EnvironmentVariableVersion:
    """One archived version's metadata; DoesNotExist -> 404."""
    return env_var_version_list(variable=variable).get(version=version)


def _locked(variable: EnvironmentVariable) -> EnvironmentVariable:
    return EnvironmentVariable.objects.select_for_update(of=("self",)).select_related("environment__project").get(
        pk=variable.pk
    )


def env_var_version_reveal(*, variable: EnvironmentVariable, version: int, reason: str, actor,
                           request=None) -> SecretValue:
    """The audited reveal of an archived value (provider-key secrets are never revealed)."""

    def read(var):
        row = EnvironmentVariableVersion.objects.get(variable=var, version=version)
        why = "was destroyed" if row.destroyed_at else "has no value"
        return row.value, f"{var.name} version {version}", why, {"version": version, "archived": True}

    return audited_reveal(variable=variable, reason=reason, actor=actor, request=request, read=read)


@sensitive_variables("value")
@transaction.atomic
def env_var_rollback(*, variable: EnvironmentVariable, version: int, actor, request=None) -> EnvironmentVariable:
    """Write a new version holding archived ``version``'s value (the current one is archived first)."""
    variable = _locked(variable)
    _refuse_provider_key_var(variable)
    try:
        row = EnvironmentVariableVersion.objects.get(variable=variable, version=version)
    except EnvironmentVariableVersion.DoesNotExist:
        raise ValidationError({"version": f"{variable.name} has no archived version {version}"}) from None
    value = row.value
    if value is None:
        why = "was destroyed" if row.destroyed_at else "has no value"
        raise ValidationError({"version": f"version {version} {why}; nothing to roll back to"})
    if isinstance(value, Undecryptable):
        raise ValidationError({"version": f"version {version} cannot be decrypted (key id {value.key_id})"})
    validate_secret_text(value)
    age = replaced_age(variable)
    env_var_version_archive(variable=variable, actor=actor)
    variable.value = value
    variable.kind = row.kind
    env_var_version_save(variable=variable, actor=actor)
    _audit(Action.SECRET_ROLLBACK, variable=variable, actor=actor, request=request,
           extra={"version": variable.version, "restored_version": version, **age})
    return variable


@transaction.atomic
def env_var_version_destroy(*, variable: EnvironmentVariable, version: int, actor,
                            request=None) -> EnvironmentVariableVersion:
    """Wipe archived ``version``'s value for good (SQL NULL); its metadata stays."""
    variable = _locked(variable)
    row = EnvironmentVariableVersion.objects.select_for_update().defer("value").get(variable=variable, version=version)
    if row.destroyed_at is None:
        row.destroyed_at = timezone.now()
    EnvironmentVariableVersion.objects.filter(pk=row.pk).update(value=None, destroyed_at=row.destroyed_at)
    _audit(Action.SECRET_VERSION_DESTROY, variable=variable, actor=actor, request=request,
           extra={"version": version})
    return env_var_version_get(variable=variable, version=version)

