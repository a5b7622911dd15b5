"""What one entity authentication costs: pinned so an optimisation cannot silently regress.

A bearer whoami is one query (the entity with its environment and project) and one
cache round trip: the client IP's and the entity's failure counters, read together.
"""

from unittest import mock

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

WHOAMI = "/agent/v1/entity/whoami"


def test_a_bearer_whoami_is_one_query_and_one_counter_round_trip(client, make_entity):
    entity, secret = make_entity()
    headers = {"HTTP_X_PLATOS_ENTITY": str(entity.pk), "HTTP_AUTHORIZATION": f"Bearer {secret}"}
    cache = caches["default"]
    with (mock.patch.object(cache, "get_many", wraps=cache.get_many) as many,
          CaptureQueriesContext(connection) as queries):
        response = client.get(WHOAMI, **headers)
    assert response.status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]
    # One get_many: one MGET on Redis (the in-process cache loops over its keys).
    (keys,) = [call.args[0] for call in many.call_args_list]
    assert len(keys) == 2 and "auth_failures_ip" in keys[0] and "auth_failures_entity" in keys[1], keys
