"""Runtime reads of the secret store: ScopedEnvService (one boundary) and SecretsService
(the consolidated, audited reader)."""

from __future__ import annotations

import logging
import traceback

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit.models import AuditEvent
from audit.services import audit_record
from platos.core.fields import Undecryptable
from platos.core.logging import register_secret
from secrets_app.boundaries import ENV_VAR, BoundaryError, register, resolve
from secrets_app.models import Environment, EnvironmentVariable, ProviderKey
from secrets_app.scopes import actor_may_read
from secrets_app.values import SecretValue

logger = logging.getLogger("platos.secrets")


class ScopedEnvService:
    """The runtime read of one named variable in one environment.

    The database is the only source: no fallback to ``os.environ`` (a value missing
    here is missing, not silently replaced by whatever the host has), and no cache of
    plaintext (every call decrypts afresh, so a rotation or revoke is seen at once).
    A variable that belongs to a disabled or revoked provider key is not served.
    Not audited by itself: code outside this app reads through ``SecretsService``.
    """

    @staticmethod
    @sensitive_variables("value")
    def get(*, environment: Environment, name: str) -> str:
        variable = (
            EnvironmentVariable.objects.filter(environment=environment, name=name)
            .only("id", "value", *EnvironmentVariable.row_identity).first()  # the row opens the value
        )
        owner = ProviderKey.objects.filter(environment=environment, env_var_name=name).first()
        if owner is not None and owner.status != ProviderKey.Status.ACTIVE:
            raise BoundaryError(owner.status, f"provider key {owner.label!r} is {owner.status}")
        if variable is None or variable.value is None:
            raise BoundaryError("missing", f"{name} is not set in {environment.scope}")
        value = variable.value
        if isinstance(value, Undecryptable):
            raise BoundaryError(
                "decryption_failed", f"{name} in {environment.scope} cannot be decrypted", key_id=value.key_id
            )
        if owner is not None:
            ProviderKey.objects.filter(pk=owner.pk).update(last_used_at=timezone.now())
        register_secret(value)
        return value


def provider_key_reader(*, name: str, environment: Environment) -> str:
    """Boundary ``provider_key:<label or id>``: the key's env var, if the key is active."""
    keys = ProviderKey.objects.filter(environment=environment)
    key = keys.filter(label=name).first()
    if key is None and name.isdigit():
        key = keys.filter(pk=int(name)).first()
    if key is None:
        raise BoundaryError("missing", f"no provider key {name!r} in {environment.scope}")
    return ScopedEnvService.get(environment=environment, name=key.env_var_name)


register(ENV_VAR, ScopedEnvService.get)
register("provider_key", provider_key_reader)


def _resolve_scope(scope) -> Environment:
    if isinstance(scope, Environment):
        return scope
    project, sep, environment = str(scope).partition("/")
    env = None
    if sep:
        env = Environment.objects.select_related("project").filter(project__slug=project, slug=environment).first()
    if env is None:
        raise BoundaryError("unknown_scope", f"no scope {scope!r}")
    return env


class SecretsService:
    """The consolidated reader: picks the boundary from the key, reads, audits, returns a SecretValue."""

    @staticmethod
    @sensitive_variables("plaintext")
    def read(*, key: str, scope, actor, purpose: str, request=None) -> SecretValue:
        """Read one secret.

        key: ``NAME`` (env var), ``provider_key:<label or id>`` or ``<prefix>:<name>``.
        scope: an Environment or ``"project/environment"``.
        actor: the user on whose behalf the read happens, or ``"system:<component>"``.
        purpose: why (e.g. ``"llm_call"``), kept in the audit row.

        Exactly one ``secret.read`` audit row is written per call, success or failure,
        in the same transaction as the read. Failures raise BoundaryError after that row
        is committed; if the row cannot be written the read raises and returns nothing.

        Call it outside a transaction of your own (the runtime does): inside one, the
        audit row is only a savepoint of it, and rolling the outer transaction back
        after using the value would remove the row of a read that happened.
        """
        scope_text = scope.scope if isinstance(scope, Environment) else str(scope)
        plaintext: str | None = None
        failure: BoundaryError | None = None
        boundary = ""
        # The row's project id, once known (no query); a scope that names no environment
        # leaves it to the audit log's resolver (the failed read of a probe is rare).
        located = {"project_id": scope.project_id} if isinstance(scope, Environment) else {}
        with transaction.atomic():
            try:
                # A savepoint: a failed boundary read must not poison the audit insert.
                with transaction.atomic():
                    environment = _resolve_scope(scope)
                    scope_text = environment.scope
                    located["project_id"] = environment.project_id
                    if not actor_may_read(actor=actor, environment=environment):
                        raise BoundaryError("no_permission", f"{actor} may not read secrets of {scope_text}")
                    boundary, name, reader = resolve(key)
                    plaintext = reader(name=name, environment=environment)
                    if not isinstance(plaintext, str):
                        raise BoundaryError("error", f"boundary {boundary or 'env'} returned no text")
            except BoundaryError as exc:
                failure = exc
            except Exception as exc:  # a broken boundary is a failed read, audited like any other
                # Type and stack only: the exception's message may carry the value it failed on.
                logger.error("secret read of %s in %s failed with %s:\n%s", key, scope_text,
                             type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
                failure = BoundaryError("error", f"reading {key} failed ({type(exc).__name__})")
            extra = {"purpose": str(purpose)[:200], "boundary": boundary or "env"}
            if failure is not None and getattr(failure, "key_id", None):
                extra["key_id"] = failure.key_id
            audit_record(
                action=AuditEvent.Action.SECRET_READ,
                success=failure is None,
                actor=actor,
                key=key,
                scope=scope_text,
                reason=failure.reason if failure else "",
                request=request,
                extra=extra,
                **located,
            )
        if failure is not None:
            raise failure
        register_secret(plaintext)
        return SecretValue(plaintext, key=key, scope=scope_text)
