"""Every write to connected entities. Each one audits inside its own transaction.

Functions that mint a secret return its plaintext to the caller, which shows it
once (the REST response) or parks it for the one-time reveal page (admin); the
plaintext is never stored anywhere else in clear.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit.models import AuditEvent
from audit.services import audit_record
from entities.models import SECRET_PREFIX_LENGTH, ConnectedEntity
from entities.reveal_store import RevealStoreUnavailable, get_reveal_store

logger = logging.getLogger("platos.entities")

SECRET_BYTES = 32
MAX_GRACE_SECONDS = 24 * 60 * 60
Action = AuditEvent.Action


def _mint() -> str:
    return secrets.token_hex(SECRET_BYTES)


def _audit(*, action: Action, entity: ConnectedEntity, actor, success: bool = True, reason: str = "",
           request=None, extra=None) -> None:
    """One audit row about ``entity``: the subject is the entity (its id), ``extra.slug`` names it.

    ``key`` stays empty: it holds the name of a stored secret, and an entity is not one
    (a search for a variable named like an entity must not find the entity's rows).
    """
    audit_record(
        action=action, success=success, actor=actor, scope=entity.scope,
        project_id=entity.environment.project_id,
        subject_type=AuditEvent.Subject.ENTITY, subject_id=str(entity.pk), reason=reason,
        request=request, extra={"slug": entity.slug, **(extra or {})},
    )


@sensitive_variables("secret")
@transaction.atomic
def entity_create(*, environment, actor, slug: str, display_name: str, base_url: str,
                  request=None, instance: ConnectedEntity | None = None) -> tuple[ConnectedEntity, str]:
    """Create an active entity with a fresh secret. Returns ``(entity, plaintext secret)``.

    actor: the user creating it (becomes ``created_by``).
    instance: an unsaved ``ConnectedEntity`` to fill and save instead of a new one (the
        admin's form object, so the admin goes on with a saved object). Every field
        this service sets is set from the arguments, whatever the instance held.
    """
    if instance is not None and not instance._state.adding:
        raise ValueError("entity_create saves a new entity; pass an unsaved instance")
    secret = _mint()
    entity = instance if instance is not None else ConnectedEntity()
    entity.environment = environment
    entity.slug, entity.display_name, entity.base_url = slug, display_name, base_url
    entity.service_secret, entity.secret_prefix = secret, secret[:SECRET_PREFIX_LENGTH]
    entity.created_by = actor if getattr(actor, "is_authenticated", False) else None
    entity.status = ConnectedEntity.Status.ACTIVE
    entity.previous_service_secret = entity.previous_secret_valid_until = None
    entity.full_clean()
    entity.save()
    _audit(action=Action.ENTITY_CREATE, entity=entity, actor=actor, request=request)
    return entity, secret


@transaction.atomic
def entity_update(*, entity: ConnectedEntity, actor, request=None, **changes) -> ConnectedEntity:
    """Change ``display_name`` and/or ``base_url`` (slug and scope are fixed)."""
    allowed = {"display_name", "base_url"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({name: "cannot be changed" for name in sorted(unknown)})
    entity = ConnectedEntity.objects.select_for_update().select_related("environment__project").get(pk=entity.pk)
    changed = sorted(name for name, value in changes.items() if getattr(entity, name) != value)
    for name in changed:
        setattr(entity, name, changes[name])
    entity.full_clean()
    if changed:
        entity.save(update_fields=changed)
    _audit(action=Action.ENTITY_UPDATE, entity=entity, actor=actor, request=request, extra={"fields": changed})
    return entity


@transaction.atomic
def entity_disable(*, entity: ConnectedEntity, actor, request=None) -> ConnectedEntity:
    """Refuse all further auth by this entity (its secrets stay stored, unreadable)."""
    entity = ConnectedEntity.objects.select_for_update().select_related("environment__project").get(pk=entity.pk)
    was = entity.status
    entity.status = ConnectedEntity.Status.DISABLED
    entity.previous_service_secret = None
    entity.previous_secret_valid_until = None
    entity.save(update_fields=["status", "previous_service_secret", "previous_secret_valid_until"])
    _audit(action=Action.ENTITY_DISABLE, entity=entity, actor=actor, request=request,
           extra={"was_disabled": was == ConnectedEntity.Status.DISABLED})
    return entity


@sensitive_variables("secret", "old")
@transaction.atomic
def entity_secret_regenerate(*, entity: ConnectedEntity, actor, grace_seconds: int = 0,
                             request=None) -> tuple[ConnectedEntity, str]:
    """Replace the secret. Returns ``(entity, new plaintext secret)``.

    grace_seconds: 0 (default) invalidates the old secret at once; up to 24 h keeps
        it valid for auth until then, so a backend can switch without downtime.
    """
    if not isinstance(grace_seconds, int) or not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
        raise ValidationError({"grace_seconds": f"must be an integer from 0 to {MAX_GRACE_SECONDS}"})
    entity = ConnectedEntity.objects.select_for_update().select_related("environment__project").get(pk=entity.pk)
    if not entity.is_active:
        raise ValidationError({"status": "a disabled entity cannot get a new secret"})
    now = timezone.now()
    old = entity.service_secret
    keep_previous = grace_seconds > 0 and isinstance(old, str)
    secret = _mint()
    entity.service_secret = secret
    entity.secret_prefix = secret[:SECRET_PREFIX_LENGTH]
    entity.previous_service_secret = old if keep_previous else None
    entity.previous_secret_valid_until = now + timedelta(seconds=grace_seconds) if keep_previous else None
    entity.secret_rotated_at = now
    entity.save(update_fields=["service_secret", "secret_prefix", "previous_service_secret",
                               "previous_secret_valid_until", "secret_rotated_at"])
    _audit(action=Action.ENTITY_SECRET_REGENERATE, entity=entity, actor=actor, request=request,
           extra={"grace_seconds": grace_seconds, "previous_kept": keep_previous})
    return entity, secret


def entity_secret_regenerate_all(*, actor, grace_seconds: int = 0) -> int:
    """Regenerate the secret of every active entity; returns how many were regenerated.

    Used by ``rotate_encryption_key --regenerate-entity-secrets``. Each entity is
    its own transaction (and audit row), so a failure part-way leaves every entity
    either fully old or fully new. The new plaintexts are not kept anywhere:
    an admin must regenerate an entity again to reveal a secret for its backend
    (pass ``grace_seconds`` to keep the old secrets working meanwhile).
    """
    count = 0
    for pk in ConnectedEntity.objects.filter(status=ConnectedEntity.Status.ACTIVE).order_by("pk").values_list(
        "pk", flat=True
    ).iterator():
        entity = ConnectedEntity(pk=pk)
        entity_secret_regenerate(entity=entity, actor=actor, grace_seconds=grace_seconds)
        count += 1
    return count


@sensitive_variables("secret")
def entity_secret_park(*, entity: ConnectedEntity, user, secret: str) -> str | None:
    """Park a freshly minted secret for the admin's one-time reveal page.

    Returns the reveal token, or None when the reveal store is unavailable (the
    entity and its new secret are already saved; the page tells the admin to
    regenerate). Call it after the minting transaction committed.
    """
    try:
        return get_reveal_store().park(secret, user_id=user.pk, entity_id=entity.pk)
    except RevealStoreUnavailable as exc:
        logger.error("could not park the new secret of entity %s: %s", entity.pk, exc)
        return None


def entity_secret_reveal(*, entity: ConnectedEntity, user, token: str | None, request=None,
                         store_unavailable: bool = False) -> str | None:
    """Take a parked secret once, auditing the attempt (success or not).

    Returns the plaintext, or None (already shown, expired, another user's token,
    or store unavailable). The audit row is written in the same transaction as
    the take; if it cannot be written, nothing is shown.
    """
    return _reveal(entity=entity, user=user, token=token, request=request, store_unavailable=store_unavailable)[0]


@sensitive_variables("value")
def _reveal(*, entity: ConnectedEntity, user, token: str | None, request, store_unavailable: bool
            ) -> tuple[str | None, str]:
    """entity_secret_reveal, also returning why nothing was revealed ("" when it was)."""
    with transaction.atomic():
        result = None
        if store_unavailable:
            reason = "reveal_store_unavailable"
        elif not token:
            reason = "already_shown_or_expired"
        else:
            try:
                result = get_reveal_store().take_result(token, user_id=user.pk, entity_id=entity.pk)
                reason = result.reason
            except RevealStoreUnavailable as exc:
                logger.error("reveal store unavailable while revealing entity %s: %s", entity.pk, exc)
                reason = TAKE_UNAVAILABLE
        value = result.value if result is not None else None
        _audit(action=Action.ENTITY_SECRET_REVEAL, entity=entity, actor=user, success=value is not None,
               reason="" if value is not None else "reveal_store_unavailable" if reason == TAKE_UNAVAILABLE
               else reason, request=request)
    return value, "" if value is not None else reason


# A take that found the store down: the secret may still be parked, so the token is worth keeping.
TAKE_UNAVAILABLE = "take_unavailable"


class RevealState:
    """The states of the one-time reveal page (also its ``data-state`` and JSON ``state``)."""

    READY = "ready"  # a secret is parked for this user: the page offers the one take
    SHOWN = "shown"  # this request took it: the page shows it, once
    GONE = "gone"  # already shown, expired, or never parked for this user
    UNAVAILABLE = "unavailable"  # the store was down when the secret was minted: nothing parked, regenerate
    RETRY = "retry"  # the store was down for this take: the secret may still be parked, try again shortly


@dataclass(frozen=True)
class RevealPage:
    """What the reveal page shows: its state, and the secret only in state SHOWN."""

    state: str
    secret: str | None = field(default=None, repr=False)
    keep_token: bool = False  # RETRY: the caller puts the token back, so a later take can still succeed


@sensitive_variables("secret")
def entity_reveal_page(*, entity: ConnectedEntity, user, parked: str | None, take: bool,
                       request=None) -> RevealPage:
    """Decide the state of the one-time reveal page for ``user``, taking the secret when asked.

    parked: what the admin's session held for this entity: the reveal token, ``""``
        when the store was unavailable as the secret was minted, None when nothing is
        parked (never was, another user, or already taken). On a take the caller has
        already removed it from the session (the session forgets before the take).
    take: False to look at the page (GET), True to take the secret (POST).

    A take that finds the store down is RETRY with ``keep_token``: the caller keeps the
    token, so the secret can still be taken once the store answers, within its TTL.
    Looking at a page with a token is READY and takes nothing. Every other outcome is
    an ``entity.secret.reveal`` row: a take (success or not), and a look at a page that
    cannot reveal (a refresh, the back button, another user, a second visit).
    """
    unavailable = parked == ""
    if take:
        secret, reason = _reveal(entity=entity, user=user, token=parked or None, request=request,
                                 store_unavailable=unavailable)
        if secret is not None:
            return RevealPage(RevealState.SHOWN, secret)
        if reason == TAKE_UNAVAILABLE:
            return RevealPage(RevealState.RETRY, keep_token=True)
    elif parked:
        return RevealPage(RevealState.READY)
    else:
        entity_secret_reveal(entity=entity, user=user, token=None, request=request, store_unavailable=unavailable)
    return RevealPage(RevealState.UNAVAILABLE if unavailable else RevealState.GONE)


@transaction.atomic
def entity_heartbeat(*, entity: ConnectedEntity, request=None) -> ConnectedEntity:
    """Record that the entity called in (``last_connected_at``)."""
    now = timezone.now()
    ConnectedEntity.objects.filter(pk=entity.pk).update(last_connected_at=now)
    entity.last_connected_at = now
    return entity
