"""EnvVarOutput is built by hand (the hot path of an env-var page): it must say exactly
what the declared fields (the schema) would say, field by field."""

import pytest
from rest_framework import serializers

from secrets_app import selectors
from secrets_app.models import EnvironmentVariable
from secrets_app.serializers import EnvVarOutput
from secrets_app.services import env_var_create

pytestmark = pytest.mark.django_db


def test_hand_built_output_equals_the_declared_fields(world):
    env_var_create(environment=world.prod, name="BY_ADMIN", value="value-by-admin-1", actor=world.admin, kind="tool")
    env_var_create(environment=world.prod, name="BY_SYSTEM", value="value-by-system-1", actor="system:test")
    env_var_create(environment=world.prod, name="REVOKED", value="value-revoked-01", actor=world.admin)
    EnvironmentVariable.objects.filter(name="REVOKED").update(value=None)
    rows = list(selectors.env_var_list(environment=world.prod).order_by("name"))
    out = EnvVarOutput()
    fast = [out.to_representation(row) for row in rows]
    walked = [serializers.Serializer.to_representation(out, row) for row in rows]
    assert fast == walked
    assert [(r["name"], r["kind"], r["is_set"], r["updated_by"]) for r in fast] == [
        ("BY_ADMIN", "tool", True, "ada"), ("BY_SYSTEM", "plain", True, None), ("REVOKED", "plain", False, "ada")]
    assert list(fast[0]) == list(out.fields)  # same keys, same order
