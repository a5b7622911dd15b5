"""What one entity authentication costs: pinned so an optimisation cannot silently regress.

A bearer whoami is one query (the entity with its environment and project) and two
reads of the failure counters (the client IP before the lookup, the entity after).
"""

from unittest import mock

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

WHOAMI = "/agent/v1/entity/whoami"


def test_a_bearer_whoami_is_one_query_and_two_counter_reads(client, make_entity):
    entity, secret = make_entity()
    headers = {"HTTP_X_PLATOS_ENTITY": str(entity.pk), "HTTP_AUTHORIZATION": f"Bearer {secret}"}
    cache = caches["default"]
    with mock.patch.object(cache, "get", wraps=cache.get) as reads, CaptureQueriesContext(connection) as queries:
        response = client.get(WHOAMI, **headers)
    assert response.status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]
    keys = [call.args[0] for call in reads.call_args_list]
    assert len(keys) == 2 and "auth_failures_ip" in keys[0] and "auth_failures_entity" in keys[1], keys
