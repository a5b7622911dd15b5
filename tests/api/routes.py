"""Every route under /agent/v1/, read from the URL resolver, so a new endpoint is covered by itself."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

METHODS = ("get", "post", "put", "patch", "delete")
NOT_THE_API = {"schema", "swagger-ui"}  # the schema and its docs page: no input, no auth
PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    name: str
    route: str  # "agent/v1/threads/<uuid:thread_id>/"
    view: type
    methods: tuple[str, ...]

    @property
    def params(self) -> list[tuple[str, str]]:
        """(name, converter) of each path parameter."""
        return [(m["name"], m["converter"] or "str") for m in PARAM.finditer(self.route)]

    def url(self, values: dict, **override) -> str:
        values = {**values, **override}
        return "/" + PARAM.sub(lambda m: str(values[m["name"]]), self.route)

    def __str__(self):
        return self.name


def _walk(patterns, prefix):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def api_routes() -> list[Route]:
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns, ""):
        view = getattr(pattern.callback, "cls", None)
        if not route.startswith("agent/v1/") or pattern.name in NOT_THE_API or view is None:
            continue
        routes.append(Route(pattern.name, route, view, tuple(m for m in METHODS if hasattr(view, m))))
    return routes


def operations(*, methods=METHODS) -> list[tuple[Route, str]]:
    """(route, method) of every API operation, for ``pytest.mark.parametrize``."""
    return [(r, m) for r in api_routes() for m in r.methods if m in methods]


def operation_id(value):
    return str(value)
