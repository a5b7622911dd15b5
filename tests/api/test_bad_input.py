"""No 500 on bad input: every class of bad input is a clear 4xx JSON error on every route it applies to.

The routes come from the URL resolver (``tests/api/routes.py``), the list endpoints from
the OpenAPI schema: a new endpoint is covered without touching this file.
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote

import pytest
from django.contrib import admin
from drf_spectacular.generators import SchemaGenerator

from platos.parsers import DepthLimitedJSONParser
from tests.api.routes import api_routes, operation_id, operations

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch", "delete")


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def assert_json_error(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()


def _schema_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]


def _operations_with_a_body() -> set[tuple[str, str]]:
    return {(op["operationId"], m) for _, m, op in _schema_operations() if "requestBody" in op}


def _list_paths() -> list[str]:
    """Every GET that takes a cursor, according to the schema."""
    return sorted(path for path, method, op in _schema_operations()
                  if method == "get" and any(p["name"] == "cursor" for p in op.get("parameters", [])))


# --- JSON nested too deep -------------------------------------------------------------

def _takes_a_body(route, method) -> bool:
    path = _plain("/" + route.route.replace("<", "{").replace(">", "}"))
    return any(_plain(p) == path and m == method and "requestBody" in op for p, m, op in _schema_operations())


def _plain(path: str) -> str:
    """A route or schema path with its parameters as ``{name}`` (converters dropped)."""
    return re.sub(r"\{(?:\w+:)?(\w+)\}", r"{\1}", path)


@pytest.mark.parametrize(("route", "method"), operations(methods=WRITES), ids=operation_id)
def test_json_nested_too_deep_is_a_400_never_a_500(root_api, path_values, route, method):
    takes_a_body = _takes_a_body(route, method)
    for depth in (DepthLimitedJSONParser.max_depth + 1, 5000):  # the depth check; the decoder's RecursionError
        response = root_api.generic(method.upper(), route.url(path_values), nested(depth),
                                    content_type="application/json")
        if takes_a_body:  # per the schema: then the body is parsed, and refused
            body = assert_json_error(response, 400)
            assert f"nested deeper than {DepthLimitedJSONParser.max_depth} levels" in body["detail"]
        else:  # the body is never read: whatever the answer (a 204 has no body), not a 500
            assert response.status_code < 500, response.content[:300]
            assert response.status_code == 204 or response["Content-Type"].startswith("application/json")


def test_the_schema_gives_bodies_to_the_writes():
    assert sum(_takes_a_body(r, m) for r, m in operations(methods=WRITES)) >= 10


def test_shallow_json_still_parses(root_api, path_values):
    body = {"title": "ok", "project": "acme", "meta": {}}
    response = root_api.post("/agent/v1/threads/", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content


# --- control characters in the path and the query -------------------------------------

CONTROL = ["A\x00B", "A\x01B", "A\x1fB", "A\x7fB", "A\nB"]


@pytest.mark.parametrize(("route", "method"), operations(), ids=operation_id)
def test_a_control_character_in_a_path_parameter_is_a_json_4xx(root_api, path_values, route, method):
    for bad in CONTROL:
        for name, _converter in route.params:
            url = route.url(path_values, **{name: quote(bad, safe="")})
            body = assert_json_error(root_api.generic(method.upper(), url), 400, 404)
            assert "detail" in body


@pytest.mark.parametrize(("route", "method"), operations(), ids=operation_id)
def test_a_control_character_in_a_query_parameter_is_a_json_400(root_api, path_values, route, method):
    for bad in CONTROL:
        for query in (f"x={quote(bad)}", f"{quote(bad)}=1", f"cursor={quote(bad)}", f"limit={quote(bad)}"):
            body = assert_json_error(root_api.generic(method.upper(), f"{route.url(path_values)}?{query}"), 400)
            assert body["code"] == "invalid_characters"


# --- cursors --------------------------------------------------------------------------

def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


ALWAYS_INVALID = {
    "garbage": "%%%not-base64",
    "not-ascii": "\u00e9t\u00e9",
    "nul-in-position": _b64("p=a\x00b"),
    "control-in-position": _b64("p=a\x01b"),
    "bad-offset": _b64("o=abc"),
    "bad-reverse": _b64("r=x"),
    "oversized": _b64("p=" + "a" * 4000),
}
MAYBE_VALID = {  # a position of the wrong kind is a 400, of the right kind an ordinary page
    "forged-text": _b64("p=abc"),
    "forged-number": _b64("p=" + "9" * 40),
    "forged-date": _b64("p=9999-99-99T99:99:99"),
    "negative-offset": _b64("o=-5&p=1"),
}


@pytest.mark.parametrize("cursor", ALWAYS_INVALID.values(), ids=ALWAYS_INVALID.keys())
@pytest.mark.parametrize("path", _list_paths())
def test_a_garbage_cursor_is_a_400_naming_it_on_every_list(root_api, path_values, path, cursor):
    url = path.format(**path_values)
    body = assert_json_error(root_api.get(url, {"cursor": cursor}), 400)
    assert "cursor" in body


@pytest.mark.parametrize("cursor", MAYBE_VALID.values(), ids=MAYBE_VALID.keys())
@pytest.mark.parametrize("path", _list_paths())
def test_a_forged_cursor_is_a_page_or_a_400_never_a_500(root_api, path_values, path, cursor):
    response = root_api.get(path.format(**path_values), {"cursor": cursor})
    body = assert_json_error(response, 200, 400)
    assert ("results" in body) if response.status_code == 200 else ("cursor" in body)


# --- ids that are not ids, paths that are not routes ----------------------------------

NOT_AN_ID = {"uuid": ["not-a-uuid", "1234", "00000000-0000-0000-0000-00000000000g"],
             "int": ["abc", "-1", "1.5"], "slug": ["a b", "a.b", "\u00e9"]}


@pytest.mark.parametrize(("route", "method"), operations(), ids=operation_id)
def test_a_malformed_id_is_a_json_404(root_api, path_values, route, method):
    checked = 0
    for name, converter in route.params:
        for bad in NOT_AN_ID.get(converter, []):
            url = route.url(path_values, **{name: quote(bad)})
            body = assert_json_error(root_api.generic(method.upper(), url), 404)
            assert body == {"detail": "Not found.", "code": "not_found"}
            checked += 1
    if any(c in NOT_AN_ID for _, c in route.params):
        assert checked


@pytest.mark.parametrize("path", ["/agent/v1/nope/", "/agent/v1/threads/x/y/z", "/agent/v1/projects/"])
def test_an_unknown_api_path_is_a_json_404(root_api, path):
    assert_json_error(root_api.get(path), 404)


def test_outside_the_api_a_404_stays_a_page(client):
    response = client.get("/nope/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_every_route_was_found():
    names = {r.name for r in api_routes()}
    assert {"threads", "env-var", "entity-whoami", "monitoring-admin-audit", "provider-key-rotate"} <= names


# --- the admin ------------------------------------------------------------------------

@pytest.mark.parametrize("model", sorted(admin.site._registry, key=str), ids=lambda m: m._meta.label)
@pytest.mark.parametrize("query", ["action=a%00", "q=a%00b", "q=a%01"])
def test_a_control_character_in_an_admin_list_query_is_a_4xx_page(client, world, model, query):
    client.force_login(world.root)
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/?{query}"
    response = client.get(url)
    assert response.status_code == 400, (url, response.status_code)


def test_the_admin_audit_list_without_control_characters_still_filters(client, world):
    client.force_login(world.root)
    assert client.get("/admin/audit/auditevent/?action=secret.read").status_code == 200
