"""An entity's service secret copied by SQL into another entity's row is refused there (pv2)."""

import pytest
from django.db import connection

from entities.boundary import read_entity_secret
from entities.models import ConnectedEntity
from platos.core.envelope import token_version
from platos.core.fields import Undecryptable
from tests.entities.test_auth import WHOAMI, assert_refused, bearer

pytestmark = pytest.mark.django_db


def raw_secret(entity) -> str:
    pk = ConnectedEntity._meta.pk.get_db_prep_value(entity.pk, connection)
    with connection.cursor() as cur:
        cur.execute("SELECT service_secret FROM entities_connectedentity WHERE id = %s", [pk])
        return cur.fetchone()[0]


def test_another_entitys_secret_does_not_decrypt_or_authenticate_here(client, make_entity, world):
    crm, crm_secret = make_entity("crm")
    other, other_secret = make_entity("other")
    stolen = raw_secret(crm)
    assert token_version(stolen) == "pv2"
    pk = ConnectedEntity._meta.pk.get_db_prep_value(other.pk, connection)
    with connection.cursor() as cur:
        cur.execute("UPDATE entities_connectedentity SET service_secret = %s WHERE id = %s", [stolen, pk])
    assert raw_secret(other) == stolen
    moved = ConnectedEntity.objects.get(pk=other.pk)
    assert isinstance(moved.service_secret, Undecryptable) and "wrong row" in moved.service_secret.reason
    # Neither the stolen secret nor the entity's own authenticates as the other entity now.
    assert_refused(client.get(WHOAMI, **bearer(other, crm_secret)), "decryption_failed")
    assert_refused(client.get(WHOAMI, **bearer(other, other_secret)), "decryption_failed")
    assert client.get(WHOAMI, **bearer(crm, crm_secret)).status_code == 200
    with pytest.raises(LookupError) as broken:
        read_entity_secret(name="other", environment=world.env)
    assert broken.value.reason == "decryption_failed"
