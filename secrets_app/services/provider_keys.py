"""BYOK lifecycle: the secret lives in the env-var store, the ProviderKey row is metadata."""

from __future__ import annotations

import secrets as _random

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit.models import AuditEvent
from audit.services import audit_record
from platos.core.fields import Undecryptable
from secrets_app.key_age import age_days, provider_key_written_at
from secrets_app.models import Environment, EnvironmentVariable, EnvironmentVariableVersion, ProviderKey
from secrets_app.services.env_vars import (
    env_var_version_archive,
    env_var_version_save,
    save_unique,
    validate_secret_text,
)

Provider = ProviderKey.Provider
Status = ProviderKey.Status
Action = AuditEvent.Action

# Recognisable key prefixes, most specific first ("sk-ant-" before "sk-").
KEY_PREFIXES: list[tuple[str, str]] = [
    ("sk-ant-", Provider.ANTHROPIC),
    ("sk-", Provider.OPENAI),
    ("AIza", Provider.GOOGLE),
]


def provider_from_prefix(secret: str) -> tuple[str, str] | None:
    """(provider, prefix) when the key's prefix names a provider, else None."""
    for prefix, provider in KEY_PREFIXES:
        if secret.startswith(prefix):
            return provider, prefix
    return None


@sensitive_variables("secret")
def _a(label: str) -> str:
    """The label with its article: "an OpenAI", "an Anthropic", "a Google" (every label is said as spelled)."""
    return f"{'an' if label[:1].lower() in 'aeiou' else 'a'} {label}"


def validate_provider_secret(*, provider: str, secret) -> None:
    """A key that visibly belongs to another provider is refused. Messages never echo the key."""
    validate_secret_text(secret, field="secret")
    if not secret:
        raise ValidationError({"secret": "is empty"})
    if secret != secret.strip():
        raise ValidationError({"secret": "has surrounding whitespace or a newline; paste the key alone"})
    found = provider_from_prefix(secret)
    if found is None or provider == Provider.CUSTOM:  # custom endpoints may use any key shape
        return
    detected, prefix = found
    if detected != provider:
        raise ValidationError(
            {
                "secret": f"this looks like {_a(Provider(detected).label)} key (it starts with {prefix!r}), "
                f"not {_a(Provider(provider).label)} key; check the provider or the key"
            }
        )


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _audit(action: Action, key: ProviderKey, *, actor, request, extra=None, success=True, reason="") -> None:
    audit_record(
        action=action,
        success=success,
        actor=actor,
        key=key.env_var_name,
        scope=key.environment.scope,
        project_id=key.environment.project_id,
        subject_type=AuditEvent.Subject.PROVIDER_KEY,
        subject_id=str(key.pk),
        reason=reason,
        request=request,
        extra={"provider": key.provider, "label": key.label, **(extra or {})},
    )


def _locked(key: ProviderKey) -> ProviderKey:
    return ProviderKey.objects.select_for_update(of=("self",)).select_related("environment__project").get(pk=key.pk)


def _variable(key: ProviderKey) -> EnvironmentVariable:
    return EnvironmentVariable.objects.select_for_update().get(
        environment_id=key.environment_id, name=key.env_var_name
    )


def _new_var_name(provider: str) -> str:
    return f"PROVIDER_KEY_{provider.upper()}_{_random.token_hex(6).upper()}"


@sensitive_variables("secret")
@transaction.atomic
def provider_key_create(
    *, environment: Environment, provider: str, label: str, secret: str, actor, request=None,
) -> ProviderKey:
    """Store ``secret`` under a generated variable name and create the metadata row.

    The first active key of a provider in an environment becomes its default.
    """
    if provider not in Provider.values:
        raise ValidationError({"provider": f"one of {', '.join(Provider.values)}"})
    validate_provider_secret(provider=provider, secret=secret)
    if ProviderKey.objects.filter(environment=environment, label=label).exists():
        raise ValidationError({"label": f"{label!r} already exists in {environment.scope}"})
    name = _new_var_name(provider)
    variable = EnvironmentVariable(
        environment=environment, name=name, value=secret, kind=EnvironmentVariable.Kind.PROVIDER_KEY,
        updated_by=_user(actor),
    )
    variable.full_clean()
    variable.save()
    key = ProviderKey(
        environment=environment, provider=provider, label=label, env_var_name=name, created_by=_user(actor)
    )
    key.full_clean()
    save_unique(key, field="label", message=f"{label!r} already exists in {environment.scope}")
    if not ProviderKey.objects.filter(environment=environment, provider=provider, is_default=True).exists():
        try:
            with transaction.atomic():  # a concurrent create may win the default: then this one is not
                ProviderKey.objects.filter(pk=key.pk).update(is_default=True)
                key.is_default = True
        except IntegrityError:
            key.is_default = False
    _audit(Action.PROVIDER_KEY_CREATE, key, actor=actor, request=request, extra={"is_default": key.is_default})
    return key


@sensitive_variables("secret")
@transaction.atomic
def provider_key_rotate(*, key: ProviderKey, secret: str, actor, request=None) -> ProviderKey:
    """Replace the secret; the metadata stays. The old value is kept as an archived version.

    The audit row's ``replaced_age_days`` is the age of the secret replaced (whole days).
    """
    key = _locked(key)
    if key.status == Status.REVOKED:
        raise ValidationError({"status": "a revoked key cannot be rotated; create a new key"})
    validate_provider_secret(provider=key.provider, secret=secret)
    replaced_age = age_days(provider_key_written_at(key))
    variable = _variable(key)
    env_var_version_archive(variable=variable, actor=actor)
    variable.value = secret
    env_var_version_save(variable=variable, actor=actor)
    key.rotated_at = timezone.now()
    key.save(update_fields=["rotated_at"])
    _audit(Action.PROVIDER_KEY_ROTATE, key, actor=actor, request=request,
           extra={"version": variable.version, "replaced_age_days": replaced_age})
    return key


def _set_status(key: ProviderKey, *, status: str, action: Action, actor, request) -> ProviderKey:
    key = _locked(key)
    if key.status == Status.REVOKED:
        raise ValidationError({"status": "the key is revoked; revocation is final"})
    key.status = status
    update = ["status"]
    if status != Status.ACTIVE and key.is_default:
        key.is_default = False  # a key that is not served cannot be the default
        update.append("is_default")
    key.save(update_fields=update)
    _audit(action, key, actor=actor, request=request)
    return key


@transaction.atomic
def provider_key_disable(*, key: ProviderKey, actor, request=None) -> ProviderKey:
    """Stop serving the key (reversible)."""
    return _set_status(key, status=Status.DISABLED, action=Action.PROVIDER_KEY_DISABLE, actor=actor, request=request)


@transaction.atomic
def provider_key_enable(*, key: ProviderKey, actor, request=None) -> ProviderKey:
    """Serve a disabled key again. A revoked key cannot be enabled."""
    return _set_status(key, status=Status.ACTIVE, action=Action.PROVIDER_KEY_ENABLE, actor=actor, request=request)


@transaction.atomic
def provider_key_revoke(*, key: ProviderKey, actor, request=None) -> ProviderKey:
    """Destroy the secret (its column becomes NULL, and so do its archived versions); keep the rows. Final."""
    key = _locked(key)
    if key.status == Status.REVOKED:
        raise ValidationError({"status": "the key is already revoked"})
    variable = _variable(key)
    variable.value = None
    EnvironmentVariableVersion.objects.filter(variable=variable, value__isnull=False).update(
        value=None, destroyed_at=timezone.now()
    )
    env_var_version_save(variable=variable, actor=actor)
    key.status = Status.REVOKED
    key.is_default = False
    key.save(update_fields=["status", "is_default"])
    _audit(Action.PROVIDER_KEY_REVOKE, key, actor=actor, request=request, extra={"version": variable.version})
    return key


@transaction.atomic
def provider_key_delete(*, key: ProviderKey, actor, request=None) -> None:
    """Delete the key and its variable. The audit trail keeps its history."""
    key = _locked(key)
    _audit(Action.PROVIDER_KEY_DELETE, key, actor=actor, request=request)
    EnvironmentVariable.objects.filter(environment_id=key.environment_id, name=key.env_var_name).delete()
    key.delete()


@transaction.atomic
def provider_key_set_default(*, key: ProviderKey, actor, request=None) -> ProviderKey:
    """Make ``key`` the default of its provider in its environment.

    Every key of that (environment, provider) is locked in id order first, so concurrent
    calls run one after the other; the partial unique constraint backs this up.
    """
    siblings = list(
        ProviderKey.objects.select_for_update()
        .filter(environment_id=key.environment_id, provider=key.provider)
        .order_by("pk")
    )
    key = next((k for k in siblings if k.pk == key.pk), None)
    if key is None:
        raise ProviderKey.DoesNotExist("the provider key no longer exists")
    if key.status != Status.ACTIVE:
        raise ValidationError({"status": f"a {key.status} key cannot be the default"})
    ProviderKey.objects.filter(pk__in=[k.pk for k in siblings if k.is_default and k.pk != key.pk]).update(
        is_default=False
    )
    ProviderKey.objects.filter(pk=key.pk).update(is_default=True)
    key = ProviderKey.objects.select_related("environment__project").get(pk=key.pk)
    _audit(Action.PROVIDER_KEY_SET_DEFAULT, key, actor=actor, request=request)
    return key


@transaction.atomic
def provider_key_test(*, key: ProviderKey, actor, request=None) -> dict[str, bool]:
    """``{"exists", "decryptable"}`` for the key's secret. Never the value, never last_used_at."""
    key = ProviderKey.objects.select_related("environment__project").get(pk=key.pk)
    variable = EnvironmentVariable.objects.filter(
        environment_id=key.environment_id, name=key.env_var_name
    ).only("id", "value", *EnvironmentVariable.row_identity).first()
    exists = variable is not None and variable.value is not None
    result = {"exists": exists, "decryptable": exists and not isinstance(variable.value, Undecryptable)}
    del variable  # the decrypted value is not kept a moment longer than needed
    _audit(Action.PROVIDER_KEY_TEST, key, actor=actor, request=request, extra=dict(result))
    return result
