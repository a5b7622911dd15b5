"""Writes to the one secret store, and the audited reveal."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit.models import AuditEvent
from audit.services import audit_record
from platos.core.envelope import is_token
from platos.core.errors import NotFound
from platos.core.fields import Undecryptable
from platos.core.logging import register_secret
from secrets_app.boundaries import BoundaryError
from secrets_app.key_age import age_days
from secrets_app.models import Environment, EnvironmentVariable, EnvironmentVariableVersion, ProviderKey
from secrets_app.values import SecretValue

MAX_VALUE_LENGTH = 64 * 1024
Action = AuditEvent.Action


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


@sensitive_variables("value")
def validate_secret_text(value, *, field: str = "value") -> None:
    """Refuse what cannot be a secret we should store. Messages never echo the value."""
    if not isinstance(value, str):
        raise ValidationError({field: "must be text"})
    if len(value) > MAX_VALUE_LENGTH:
        raise ValidationError({field: f"is longer than {MAX_VALUE_LENGTH} characters"})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError({field: "contains characters that are not valid Unicode text"}) from None
    if is_token(value):
        # Almost certainly a ciphertext copied from the database by mistake. (It would
        # be stored as the literal text it is: fields never decrypt input.)
        raise ValidationError({field: "looks like a Platos ciphertext envelope; store the plaintext"})


def clean_reason(reason) -> str:
    """The reason a person gives for seeing secret material (audited): required, at most 200 characters."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "say why you need to see this value"})
    if len(reason) > 200:
        raise ValidationError({"reason": "at most 200 characters"})
    return reason


def save_unique(obj, *, field: str, message: str) -> None:
    """Save; a concurrent insert that won the unique constraint is a 400, not a 500.

    The ``exists()`` check and ``full_clean`` before this catch the usual case; two
    requests racing past both meet here, and the loser gets the same clear error.
    """
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise ValidationError({field: message}) from None


def env_var_version_save(*, variable: EnvironmentVariable, actor) -> EnvironmentVariable:
    """Save a change to ``variable``'s value or kind as its next version.

    Bumps ``version``, stamps ``updated_at``/``updated_by`` (``actor`` if it is a user),
    runs ``full_clean`` and saves. Call it inside the caller's transaction, holding the
    row lock; the caller writes the audit row of the change.
    """
    variable.version += 1
    variable.updated_at = timezone.now()
    variable.updated_by = _user(actor)
    variable.full_clean()
    variable.save()
    return variable


def versions_kept() -> int:
    return max(0, int(getattr(settings, "PLATOS_SECRET_VERSIONS_KEPT", 10)))


def env_var_version_archive(*, variable: EnvironmentVariable, actor) -> EnvironmentVariableVersion | None:
    """Keep ``variable``'s current value (as loaded, before the caller changes it) as a version row.

    Call it inside the caller's transaction, holding the row lock, before assigning the
    new value. A value that cannot be decrypted is kept as metadata only (it could not
    be restored). Older rows beyond ``PLATOS_SECRET_VERSIONS_KEPT`` are deleted.
    """
    kept = versions_kept()
    if kept == 0:
        return None
    value = variable.value
    row = EnvironmentVariableVersion(
        variable=variable,
        version=variable.version,
        value=None if isinstance(value, Undecryptable) else value,
        kind=variable.kind,
        created_at=variable.updated_at,
        created_by_id=variable.updated_by_id,
        archived_by=_user(actor),
    )
    row.save()
    stale = list(
        EnvironmentVariableVersion.objects.filter(variable=variable).order_by("-version").values_list("pk", flat=True)[
            kept:
        ]
    )
    if stale:
        EnvironmentVariableVersion.objects.filter(pk__in=stale).delete()
    return row


def replaced_age(variable: EnvironmentVariable) -> dict:
    """``{"replaced_age_days": n}`` when a provider-key value is about to be replaced, else ``{}``.

    Call it on the row as loaded, before the new value is assigned (audit extra).
    """
    if variable.kind != EnvironmentVariable.Kind.PROVIDER_KEY or variable.value is None:
        return {}
    return {"replaced_age_days": age_days(variable.updated_at)}


def _refuse_provider_key_var(variable: EnvironmentVariable) -> None:
    owner = ProviderKey.objects.filter(environment_id=variable.environment_id, env_var_name=variable.name).first()
    if owner is not None:
        raise ValidationError(
            {"name": f"{variable.name} holds provider key {owner.label!r}; use the provider-key actions"}
        )


def _audit(action: Action, *, variable: EnvironmentVariable, actor, request, success: bool = True,
           reason: str = "", extra=None) -> None:
    audit_record(
        action=action,
        success=success,
        actor=actor,
        key=variable.name,
        scope=variable.environment.scope,
        project_id=variable.environment.project_id,
        subject_type=AuditEvent.Subject.ENV_VAR,
        subject_id=str(variable.pk or ""),
        reason=reason,
        request=request,
        extra=extra,
    )


@sensitive_variables("value")
@transaction.atomic
def env_var_create(
    *, environment: Environment, name: str, value: str, kind: str = EnvironmentVariable.Kind.PLAIN,
    actor, request=None,
) -> EnvironmentVariable:
    """Store a new variable. ``value`` is written once and never returned by this app's API."""
    validate_secret_text(value)
    if EnvironmentVariable.objects.filter(environment=environment, name=name).exists():
        raise ValidationError({"name": f"{name} already exists in {environment.scope}"})
    variable = EnvironmentVariable(
        environment=environment, name=name, value=value, kind=kind, version=1, updated_by=_user(actor)
    )
    variable.full_clean()
    save_unique(variable, field="name", message=f"{name} already exists in {environment.scope}")
    _audit(Action.SECRET_WRITE, variable=variable, actor=actor, request=request,
           extra={"version": variable.version, "kind": kind, "created": True})
    return variable


@sensitive_variables("value")
@transaction.atomic
def env_var_update(
    *, variable: EnvironmentVariable, actor, value: str | None = None, kind: str | None = None, request=None,
) -> EnvironmentVariable:
    """Replace the value and/or the kind. ``value=None`` keeps the stored value."""
    variable = EnvironmentVariable.objects.select_for_update(of=("self",)).select_related("environment__project").get(
        pk=variable.pk
    )
    _refuse_provider_key_var(variable)
    age = {}
    if value is not None:
        validate_secret_text(value)
        age = replaced_age(variable)
        env_var_version_archive(variable=variable, actor=actor)
        variable.value = value
    elif isinstance(variable.value, Undecryptable):
        raise ValidationError({"value": "the stored value cannot be decrypted; set a new value"})
    if kind is not None:
        variable.kind = kind
    env_var_version_save(variable=variable, actor=actor)
    _audit(Action.SECRET_WRITE, variable=variable, actor=actor, request=request,
           extra={"version": variable.version, "kind": variable.kind, "content_changed": value is not None, **age})
    return variable


@transaction.atomic
def env_var_delete(*, variable: EnvironmentVariable, actor, request=None) -> None:
    """Delete a variable and its value (a provider key's variable goes with the key)."""
    variable = EnvironmentVariable.objects.select_for_update(of=("self",)).select_related("environment__project").get(
        pk=variable.pk
    )
    _refuse_provider_key_var(variable)
    _audit(Action.SECRET_DELETE, variable=variable, actor=actor, request=request, extra={"version": variable.version})
    variable.delete()


@sensitive_variables("value")
def env_var_reveal(*, variable: EnvironmentVariable, reason: str, actor, request=None) -> SecretValue:
    """The explicit, audited reveal of a value to a person. Permission is the caller's job.

    Provider-key secrets are write-only and are not revealed. A failed reveal is
    audited too, then raised as BoundaryError.
    """
    return audited_reveal(
        variable=variable, reason=reason, actor=actor, request=request,
        read=lambda var: (var.value, var.name, "has no value", {"version": var.version}),
    )


@sensitive_variables("value")
def audited_reveal(*, variable: EnvironmentVariable, reason: str, actor, request, read) -> SecretValue:
    """A reveal to a person: one ``secret.reveal`` row (failures included), then the value.

    read: ``read(variable) -> (value, what, why_missing, extra)`` on the freshly loaded
        variable, inside the transaction: the stored value to show (None when there is
        none), how messages name it, why it is missing, the audit row's extra.
    """
    reason = clean_reason(reason)
    refusal: ValidationError | None = None
    failure: BoundaryError | None = None
    with transaction.atomic():
        variable = EnvironmentVariable.objects.select_related("environment__project").get(pk=variable.pk)
        stored, what, why_missing, extra = read(variable)
        try:
            _refuse_provider_key_var(variable)
        except ValidationError as exc:
            refusal = exc  # asking to see a provider key's secret is an attempt too: audited
        value = None if refusal else stored
        if refusal is None and value is None:
            failure = BoundaryError("missing", f"{what} {why_missing}")
        elif isinstance(value, Undecryptable):
            failure = BoundaryError("decryption_failed", f"{what} cannot be decrypted", key_id=value.key_id)
        failed = "no_permission" if refusal else (failure.reason if failure else None)
        # The person's reason is what the audit row records; a failure adds its slug.
        _audit(Action.SECRET_REVEAL, variable=variable, actor=actor, request=request, success=failed is None,
               reason=reason, extra={**extra, "failure": failed})
    if refusal is not None:
        raise refusal
    if failure is not None:
        raise failure
    register_secret(value)
    return SecretValue(value, key=variable.name, scope=variable.environment.scope)


class VariableNotFound(NotFound):
    """No variable of that name in the environment (its failed reveal is audited)."""


@transaction.atomic
def _audit_missing_reveal(*, environment: Environment, name: str, reason: str, actor, request) -> None:
    audit_record(action=Action.SECRET_REVEAL, success=False, actor=actor, key=name[:200], scope=environment.scope,
                 project_id=environment.project_id, subject_type=AuditEvent.Subject.ENV_VAR,
                 reason=(reason or "").strip()[:200], request=request, extra={"failure": "missing"})


def env_var_reveal_by_name(*, environment: Environment, name: str, reason: str, actor,
                           request=None) -> tuple[EnvironmentVariable, SecretValue]:
    """:func:`env_var_reveal` of ``name``; a name that does not exist is audited as a failed
    reveal (reason ``missing``) before the 404, so probing for names shows in the log."""
    variable = EnvironmentVariable.objects.filter(environment=environment, name=name).first()
    if variable is None:
        _audit_missing_reveal(environment=environment, name=name, reason=reason, actor=actor, request=request)
        raise VariableNotFound(f"No variable {name[:128]!r} in {environment.scope}.")
    return variable, env_var_reveal(variable=variable, reason=reason, actor=actor, request=request)
