"""The request parsers of the API (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``).

Its own module, importing no DRF view: DRF's settings import it while
``rest_framework.views`` is being loaded, so it must not need that module.
"""

from __future__ import annotations

from rest_framework import exceptions, parsers


class DepthLimitedJSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing documents nested deeper than ``max_depth`` with a 400.

    Without a limit a document nested ~1000 levels deep makes the decoder raise
    ``RecursionError`` (a 500); shallower but still absurd nesting reaches the
    serializers and the encrypted JSON fields. No body of this API needs more than a
    few levels.
    """

    max_depth = 32

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            too_deep = _nested_deeper_than(data, self.max_depth)
        except RecursionError:
            too_deep = True
        if too_deep:
            raise exceptions.ParseError(f"JSON parse error - nested deeper than {self.max_depth} levels")
        return data


def _nested_deeper_than(data, limit: int) -> bool:
    """Whether a parsed JSON value has more than ``limit`` levels of arrays/objects (no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
