"""The one place that makes the OpenAPI schema tell the truth about every operation.

A drf-spectacular postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``),
so no view copies error responses or pagination parameters by hand:

- every list (an operation answering an array) is documented as what it answers,
  the ``{"results", "next"}`` page of ``platos.api.CursorPage``, with its ``cursor`` and
  ``limit`` (1-500) parameters;
- path parameters carry the pattern of their URL converter (a slug is a slug);
- every operation documents the errors it can return, each with the body it really has:
  400 (a field-error map, or ``{"detail", "code"}`` for a refused input), 401, 403,
  404 (where there is a path parameter), 409 (writes: a state that forbids it, a value
  that cannot be decrypted), 429 (throttled);
- the main operations get request and response examples.

Operations layer: settings name it; nothing imports it.
"""

from __future__ import annotations

import re

from django.urls.converters import get_converters

from platos.api import MAX_CURSOR_LENGTH, CursorPage

ERROR = "#/components/schemas/Error"
FIELD_ERRORS = "#/components/schemas/FieldErrors"
COMPONENTS = {
    "Error": {
        "type": "object",
        "description": "A refusal: what went wrong, in words, and a stable code when the API has one.",
        "required": ["detail"],
        "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        "additionalProperties": True,  # e.g. key_id of a value that could not be decrypted
        "example": {"detail": "This needs the admin role in project acme.", "code": "permission_denied"},
    },
    "FieldErrors": {
        "type": "object",
        "description": (
            "Invalid input. Either each bad field (or query parameter) named with its messages "
            "(`non_field_errors` for the input as a whole), or `detail` (and `code`) for input "
            "refused as a whole: unparsable or too deeply nested JSON, control characters in the "
            "path or query."
        ),
        "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        "additionalProperties": {
            "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}],
        },
        "example": {"name": ["Use A-Z, 0-9 and _ only, starting with a letter."]},
    },
}
ERRORS = {
    "400": ("Invalid input.", FIELD_ERRORS),
    "401": ("Not authenticated (no or bad credentials).", ERROR),
    "403": ("Authenticated, but not allowed to do this.", ERROR),
    "404": ("No such object for this caller (an id that is not one, or not in the caller's projects).", ERROR),
    "409": ("The object's state forbids this, or a stored value could not be decrypted.", ERROR),
    "429": ("Too many requests: wait and retry.", ERROR),
}
WRITES = {"post", "put", "patch", "delete"}
PAGE_PARAMETERS = {
    "cursor": {
        "in": "query", "name": "cursor", "required": False,
        "description": "Opaque; take it from the `next` link of the previous page.",
        "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
    },
    "limit": {
        "in": "query", "name": "limit", "required": False,
        "description": f"Page size, 1-{CursorPage.max_page_size} (default {CursorPage.page_size}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": CursorPage.max_page_size,
                   "default": CursorPage.page_size},
    },
}
ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")  # path("…/<slug:project>/")

# Examples of the main operations: (request body, (status, response body)).
EXAMPLES = {
    "env_vars_create": ({"name": "STRIPE_KEY", "value": "sk_live_…", "kind": "skill"}, None),
    "env_vars_reveal": ({"reason": "rotating the webhook at the provider"},
                        ("200", {"name": "STRIPE_KEY", "value": "sk_live_…"})),
    "provider_keys_create": ({"provider": "openai", "label": "prod", "secret": "sk-proj-…"}, None),
    "threads_create": ({"title": "Support chat", "project": "acme", "environment": "production"}, None),
    "threads_messages_create": ({"role": "user", "content": "Where is my order?"}, None),
}


def postprocess(result, generator, request, public):
    """drf-spectacular hook: the rules of the module docstring, applied to every operation."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    patterns = _path_parameter_patterns(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            _page(operation, method)
            _path_parameters(operation, patterns.get(path, {}))
            _errors(operation, method)
            _examples(operation)
    return result


def _path_parameter_patterns(generator) -> dict[str, dict[str, str]]:
    """{schema path: {parameter: the regex of its URL converter}}, from the resolved endpoints."""
    converters = get_converters()
    found = {}
    for path, route, _method, _view in generator.endpoints or []:
        found[path] = {m["name"]: converters[m["converter"] or "str"].regex for m in ROUTE_PARAMETER.finditer(route)}
    return found


def _page(operation: dict, method: str) -> None:
    if method != "get":
        return
    ok = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json")
    if ok is None:
        return
    schema = ok.get("schema", {})
    if schema.get("type") == "array":  # every list pages: what it answers is a CursorPage
        ok["schema"] = CursorPage().get_paginated_response_schema(schema)
    parameters = operation.get("parameters", [])
    if "results" not in ok["schema"].get("properties", {}) and not any(p["name"] == "cursor" for p in parameters):
        return  # one object, not a page
    parameters = operation.setdefault("parameters", [])
    for name, definition in PAGE_PARAMETERS.items():
        existing = next((p for p in parameters if p["name"] == name and p["in"] == "query"), None)
        if existing is None:
            parameters.append(dict(definition))
        else:
            existing["schema"] = dict(definition["schema"])


def _path_parameters(operation: dict, patterns: dict[str, str]) -> None:
    for parameter in operation.get("parameters", []):
        regex = patterns.get(parameter["name"])
        if parameter["in"] != "path" or regex is None:
            continue
        schema = parameter.setdefault("schema", {"type": "string"})
        if schema.get("type") == "string" and "format" not in schema:
            schema["pattern"] = f"^{regex}$"
        elif schema.get("type") == "integer":
            schema["minimum"] = 0  # the int converter takes digits only


def _errors(operation: dict, method: str) -> None:
    responses = operation.setdefault("responses", {})
    has_path_parameters = any(p["in"] == "path" for p in operation.get("parameters", []))
    secured = operation.get("security") != [] and operation.get("security") != [{}]
    for status, (description, ref) in ERRORS.items():
        if status in ("401", "403") and not secured:
            continue
        if status == "404" and not has_path_parameters and status not in responses:
            continue
        if status == "409" and method not in WRITES and status not in responses:
            continue
        previous = responses.get(status, {})
        responses[status] = {
            "description": previous.get("description") or description,
            "content": {"application/json": {"schema": {"$ref": ref}}},
        }


def _examples(operation: dict) -> None:
    example = EXAMPLES.get(operation.get("operationId"))
    if example is None:
        return
    request_example, response_example = example
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        body["example"] = request_example
    if response_example is not None:
        status, value = response_example
        content = operation["responses"].get(status, {}).get("content", {}).get("application/json")
        if content is not None:
            content["example"] = value
