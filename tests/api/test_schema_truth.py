"""What the schema documents for every operation (platos/openapi.py), read from the generated schema."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from platos.openapi import EXAMPLES

WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    return [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]


def _error_ref(op, status):
    return op["responses"][status]["content"]["application/json"]["schema"]["$ref"]


def test_every_operation_documents_the_errors_it_can_return(schema):
    operations = _operations(schema)
    assert len(operations) >= 35
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert _error_ref(op, "400") == "#/components/schemas/FieldErrors", where
        for status in ("401", "403", "429"):
            assert _error_ref(op, status) == "#/components/schemas/Error", (where, status)
        if "{" in path:
            assert _error_ref(op, "404") == "#/components/schemas/Error", where
        if method in WRITES:
            assert _error_ref(op, "409") == "#/components/schemas/Error", where


def test_the_400_shape_is_a_field_error_map(schema):
    field_errors = schema["components"]["schemas"]["FieldErrors"]
    assert field_errors["additionalProperties"]["oneOf"][0] == {"type": "array", "items": {"type": "string"}}
    assert field_errors["example"]  # and a real one
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]


def test_every_list_answers_a_page_and_bounds_its_limit(schema):
    lists = [(p, op) for p, m, op in _operations(schema)
             if m == "get" and any(x["name"] == "cursor" for x in op.get("parameters", []))]
    assert len(lists) >= 8, [p for p, _ in lists]
    for path, op in lists:
        params = {x["name"]: x["schema"] for x in op["parameters"] if x["in"] == "query"}
        assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, 500), path
        assert params["cursor"]["maxLength"] == 512, path
        ok = op["responses"]["200"]["content"]["application/json"]["schema"]
        if "$ref" in ok:
            ok = schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
        assert {"results", "next"} <= set(ok["properties"]), path


def test_no_operation_answers_a_bare_array(schema):
    for path, method, op in _operations(schema):
        for status, response in op["responses"].items():
            body = response.get("content", {}).get("application/json", {}).get("schema", {})
            assert body.get("type") != "array", (method, path, status)


def test_path_parameters_carry_their_converter(schema):
    project = next(x for x in schema["paths"]["/agent/v1/projects/{project}/environments/{environment}/env-vars/"]
                   ["get"]["parameters"] if x["name"] == "project")
    assert project["schema"]["pattern"] == "^[-a-zA-Z0-9_]+$"
    key = next(x for path, _, op in _operations(schema) for x in op.get("parameters", []) if x["name"] == "key_id")
    assert key["schema"] == {"type": "integer", "minimum": 0}
    thread = next(x for path, _, op in _operations(schema) for x in op.get("parameters", [])
                  if x["name"] == "thread_id")
    assert thread["schema"]["format"] == "uuid"


def test_the_main_operations_have_examples(schema):
    by_id = {op["operationId"]: op for _, _, op in _operations(schema)}
    assert set(EXAMPLES) <= set(by_id)
    for operation_id in EXAMPLES:
        assert by_id[operation_id]["requestBody"]["content"]["application/json"]["example"], operation_id
    reveal = by_id["env_vars_reveal"]["responses"]["200"]["content"]["application/json"]
    assert reveal["example"]["name"] == "STRIPE_KEY"
