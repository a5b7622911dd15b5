"""Project middleware."""

from django.utils.cache import add_never_cache_headers, patch_cache_control

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
