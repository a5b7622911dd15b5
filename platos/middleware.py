"""Project middleware."""

from django.core.exceptions import SuspiciousOperation
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control

from platos.api import has_control_characters

API_PREFIX = "/agent/v1/"
CACHEABLE = ("/agent/v1/schema/", "/agent/v1/docs/")


class NoStoreApiMiddleware:
    """API responses carry conversations, metadata about secrets and one-time reveals:
    no browser or proxy may keep a copy (``Cache-Control: no-store``). The schema and
    its docs page hold nothing of the kind and stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and not request.path.startswith(CACHEABLE)
            and not response.has_header("Cache-Control")  # a view that said no-store itself
        ):
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        return response


class RefuseControlCharactersMiddleware:
    """A path or query parameter holding a control character (NUL included) is refused up front.

    No name, slug, id or filter value of ours holds one, and a NUL that reaches
    PostgreSQL is a ``DataError`` (a 500) wherever it is used in a lookup. Under
    /agent/v1/ the refusal is a JSON 400 like every other; elsewhere (the admin) it is
    Django's 400 page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_control_characters(request.path) or any(
            has_control_characters(name) or any(has_control_characters(v) for v in values)
            for name, values in request.GET.lists()
        ):
            if request.path.startswith(API_PREFIX):
                return JsonResponse(
                    {"detail": "Control characters are not allowed in the path or query parameters.",
                     "code": "invalid_characters"},
                    status=400,
                )
            raise SuspiciousOperation("control character in the path or query string")
        return self.get_response(request)
