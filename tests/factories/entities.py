"""Connected entities, created by ``entity_create`` (encrypted service secret, audit row)."""

from __future__ import annotations

import factory

from entities.models import ConnectedEntity
from entities.services import entity_create
from tests.factories.base import ServiceFactory
from tests.factories.secrets_app import EnvironmentFactory


class ConnectedEntityFactory(ServiceFactory):
    """``create()`` gives the entity; ``create_with_secret()`` also the one-time plaintext secret."""

    class Meta:
        model = ConnectedEntity

    environment = factory.SubFactory(EnvironmentFactory)
    actor = "system:test"
    slug = factory.Sequence(lambda n: f"entity{n}")
    display_name = factory.LazyAttribute(lambda o: o.slug.upper())
    base_url = factory.LazyAttribute(lambda o: f"https://{o.slug}.example.com")

    @classmethod
    def _create(cls, model_class, *args, _with_secret=False, **kwargs):
        entity, secret = entity_create(**kwargs)
        if _with_secret:
            entity._minted_secret = secret  # taken off again by create_with_secret
        return entity

    @classmethod
    def create_with_secret(cls, **kwargs) -> tuple[ConnectedEntity, str]:
        """``(entity, plaintext secret)``, as ``entity_create`` returns them."""
        entity = cls.create(_with_secret=True, **kwargs)
        return entity, entity.__dict__.pop("_minted_secret")
