"""The runtime boundary: the plaintext service secret for code that calls out to an entity.

``SecretsService`` wraps this read (and audits it); nothing else should call it.
"""

from __future__ import annotations

from entities.models import ConnectedEntity
from secrets_app.boundaries import BoundaryError


class EntitySecretError(BoundaryError, LookupError):
    """The secret cannot be read. ``reason``: missing, disabled or decryption_failed.

    A BoundaryError, so SecretsService audits it with its reason like any other boundary.
    """

    reason = ""

    def __init__(self, message: str) -> None:
        super().__init__(type(self).reason, message)


class EntitySecretMissing(EntitySecretError):
    reason = "missing"


class EntitySecretDisabled(EntitySecretError):
    reason = "disabled"


class EntitySecretUndecryptable(EntitySecretError):
    reason = "decryption_failed"


def read_entity_secret(*, name: str, environment) -> str:
    """The current service secret of the entity ``name`` (its slug) in ``environment``.

    The previous secret of a grace window is never returned: calls out use the
    current one. Error messages name the entity and scope, never a value.
    """
    entity = ConnectedEntity.objects.filter(environment=environment, slug=name).first()
    where = f"{name!r} in {environment.scope}"
    if entity is None:
        raise EntitySecretMissing(f"no connected entity {where}")
    if not entity.is_active:
        raise EntitySecretDisabled(f"connected entity {where} is disabled")
    secret = entity.service_secret
    if not isinstance(secret, str):
        raise EntitySecretUndecryptable(
            f"the secret of connected entity {where} cannot be decrypted (key id {secret.key_id})"
        )
    return secret
