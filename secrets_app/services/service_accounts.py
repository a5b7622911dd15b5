"""Machine identities: create (with a first token, shown once), further tokens, disable,
and the runtime read of a granted environment (one audited ``secret.read`` per variable)."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.models import AuditEvent
from audit.services import audit_record
from platos.core.errors import NotFound
from secrets_app.boundaries import BoundaryError
from secrets_app.models import (
    Environment,
    EnvironmentVariable,
    Project,
    ProviderKey,
    ServiceAccount,
    env_name_validator,
)
from secrets_app.services.readers import SecretsService
from secrets_app.tokens.models import ApiToken
from secrets_app.tokens.services import token_create
from secrets_app.values import SecretValue

SUBJECT = AuditEvent.Subject.SERVICE_ACCOUNT
_ENV_NAME = re.compile(env_name_validator.regex.pattern)


class EnvironmentNotGranted(NotFound):
    """The service account has no grant on that environment (or it does not exist): 404."""


def _audit_fields(account: ServiceAccount) -> dict:
    # Scoped to the account's project (by slug and id), so that project's admins read these rows.
    return {"subject_type": SUBJECT, "subject_id": str(account.pk),
            "scope": account.project.slug, "project_id": account.project_id,
            "extra": {"name": account.name, "project": account.project.slug, "project_id": account.project_id,
                      "environments": sorted(e.slug for e in account.environments.all())}}


@transaction.atomic
def service_account_create(*, project: Project, name: str, environments: list[str], actor, request=None,
                           with_token: bool = True,
                           expires_in_days: int | None = None) -> tuple[ServiceAccount, ApiToken | None, str | None]:
    """Create a service account of ``project`` granted read on ``environments`` (slugs of
    that project); with ``with_token`` also mint its first token (returned once).

    The backing user is named ``sa+<project>+<name>``, has an unusable password and no
    staff flag: it cannot log in anywhere, it only owns the account's tokens.
    """
    slugs = sorted(set(environments or []))
    envs = list(Environment.objects.filter(project=project, slug__in=slugs))
    errors = {}
    if not slugs:
        errors["environments"] = ["grant at least one environment of the project"]
    elif len(envs) != len(slugs):
        missing = sorted(set(slugs) - {e.slug for e in envs})
        errors["environments"] = [f"no such environment in {project.slug}: {', '.join(missing)}"]
    account = ServiceAccount(project=project, name=(name or "").strip(), created_by=_user_or_none(actor))
    try:
        account.full_clean(exclude=["user"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    username = f"sa+{project.slug}+{account.name}"
    if not errors and get_user_model().objects.filter(username=username).exists():
        errors["name"] = ["a user with this service account's name exists; pick another name"]
    if errors:
        raise ValidationError(errors)
    account.user = get_user_model().objects.create_user(username=username, password=None)
    account.save()
    account.environments.set(envs)
    audit_record(action=AuditEvent.Action.SERVICE_ACCOUNT_CREATE, success=True, actor=actor, request=request,
                 **_audit_fields(account))
    if not with_token:
        return account, None, None
    token, plaintext = service_account_token_create(account=account, actor=actor, request=request,
                                                    expires_in_days=expires_in_days)
    return account, token, plaintext


def _user_or_none(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def service_account_token_create(*, account: ServiceAccount, actor, request=None, name: str | None = None,
                                 expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """A further token of an active account (its only appearance); audited as ``token.create``."""
    if not account.is_active:
        raise ValidationError({"service_account": ["the service account is disabled"]})
    return token_create(user=account.user, name=name or account.name, expires_in_days=expires_in_days,
                        actor=actor, request=request)


@transaction.atomic
def service_account_disable(*, account: ServiceAccount, actor, request=None) -> ServiceAccount:
    """Stop the account: it and its user become inactive, so every token of it fails at once."""
    account.is_active = False
    account.save(update_fields=["is_active"])
    user = account.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(action=AuditEvent.Action.SERVICE_ACCOUNT_DISABLE, success=True, actor=actor, request=request,
                 **_audit_fields(account))
    return account


def service_account_environment_get(*, account: ServiceAccount, environment: str) -> Environment:
    """The granted environment ``environment`` (a slug of the account's project), else 404."""
    env = account.environments.select_related("project").filter(slug=environment).first()
    if env is None:
        raise EnvironmentNotGranted("No such environment for this service account.")
    return env


def _served_names(environment: Environment) -> list[str]:
    """Names with a value, minus those of disabled or revoked provider keys (not served)."""
    withheld = ProviderKey.objects.filter(environment=environment).exclude(
        status=ProviderKey.Status.ACTIVE).values_list("env_var_name", flat=True)
    return list(EnvironmentVariable.objects.filter(environment=environment, value__isnull=False)
                .exclude(name__in=withheld).order_by("name").values_list("name", flat=True))


def runtime_env_read(*, account: ServiceAccount, environment: Environment, purpose: str,
                     request=None) -> dict[str, SecretValue]:
    """Every served variable of a granted environment; one ``secret.read`` row each.

    Each read is SecretsService's (its own transaction and audit row), acting as the
    account (``service_account:<project>/<name>``). A read that fails (e.g. a value
    that cannot be decrypted) raises after its row, and nothing is served.
    """
    return {name: runtime_var_read(account=account, environment=environment, name=name, purpose=purpose,
                                   request=request)
            for name in _served_names(environment)}


class VariableNotFound(NotFound):
    """No variable of that name in the environment (the failed read is audited)."""


def runtime_var_read(*, account: ServiceAccount, environment: Environment, name: str, purpose: str,
                     request=None) -> SecretValue:
    """One variable of a granted environment, audited: a name that does not exist is a
    failed ``secret.read`` row and a 404. Only env var names: ``<prefix>:<name>`` keys
    (provider keys by label, entity secrets) are not the runtime's to ask for."""
    if not _ENV_NAME.match(name):
        with transaction.atomic():
            audit_record(action=AuditEvent.Action.SECRET_READ, success=False, actor=account.actor, key=name[:200],
                         scope=environment.scope, project_id=environment.project_id, reason="missing",
                         request=request,
                         extra={"purpose": str(purpose)[:200], "boundary": "env"})
        raise VariableNotFound(f"No variable {name[:128]!r} in {environment.scope}.")
    try:
        return SecretsService.read(key=name, scope=environment, actor=account.actor, purpose=purpose or "runtime",
                                   request=request)
    except BoundaryError as exc:
        if exc.reason == "missing" and not EnvironmentVariable.objects.filter(
                environment=environment, name=name).exists():
            raise VariableNotFound(f"No variable {name!r} in {environment.scope}.") from None
        raise


def runtime_var_version(*, environment: Environment, name: str) -> int:
    return EnvironmentVariable.objects.filter(environment=environment, name=name).values_list(
        "version", flat=True).first() or 0
