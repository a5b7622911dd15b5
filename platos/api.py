"""API plumbing shared by every app: the one cursor pagination, its helper, the one exception handler
and the JSON 404 of every path under /agent/v1/ (the JSON parser is ``platos.parsers``).

Core level: imports DRF, Django and ``platos.core`` only, never an app.
"""

from __future__ import annotations

import logging
import sys

from django.core import exceptions as django_exceptions
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from platos.core.envelope import DecryptionError
from platos.core.errors import ApplicationError, NotFound, Refused

__all__ = [
    "ApplicationError", "CursorPage", "NotFound", "Refused", "exception_handler",
    "not_found", "paginated_response",
]

logger = logging.getLogger("platos.api")

API_PREFIX = "/agent/v1/"
# The database cannot be reached (down, restarting, failing over, a dropped connection):
# a 503 the client may retry, never a 500 with a traceback.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER = 10  # seconds
DATABASE_UNAVAILABLE_BODY = {
    "detail": "The database is unavailable; nothing was changed. Try again shortly.",
    "code": "database_unavailable",
}
INVALID_CURSOR = {"cursor": ["invalid cursor; use the next link as given"]}
# A cursor we hand out is base64 of a short query string: far below this.
MAX_CURSOR_LENGTH = 512


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a C0 control character or DEL (NUL among them: PostgreSQL refuses it in text)."""
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


class CursorPage(pagination.CursorPagination):
    """The one pagination of every list: ``{"results": [...], "next": <url or null>}``.

    ``?limit=`` is 1-500 (default 50). The order is the view's ``ordering`` attribute
    (default newest first by ``created_at``). A cursor that was not handed out by a
    ``next`` link (garbage, or a forged position that does not fit the ordering
    field) is a 400 naming ``cursor``, never a 404 or a 500.
    """

    page_size = 50
    max_page_size = 500
    page_size_query_param = "limit"
    ordering = "-created_at"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {"limit": [f"must be an integer from 1 to {self.max_page_size}"]}
            )
        return size

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view=view)

    def decode_cursor(self, request):
        if len(request.query_params.get(self.cursor_query_param, "")) > MAX_CURSOR_LENGTH:
            raise exceptions.ValidationError(INVALID_CURSOR)
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(INVALID_CURSOR) from None
        if cursor is not None and cursor.position is not None and not self._position_fits(cursor.position):
            raise exceptions.ValidationError(INVALID_CURSOR)
        return cursor

    def _position_fits(self, position: str) -> bool:
        """Whether ``position`` is a value of the ordering field (so filtering on it cannot fail)."""
        if has_control_characters(position):
            return False  # never in a position we hand out; a NUL would be a DataError on PostgreSQL
        try:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        except django_exceptions.FieldDoesNotExist:
            return True  # an annotation: nothing to check against
        try:
            field.to_python(position)
        except (django_exceptions.ValidationError, ValueError, TypeError):
            return False
        return True

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
            },
        }


def paginated_response(view, queryset, serializer_class, *, prepare=None) -> Response:
    """One page of ``queryset`` in the list shape every endpoint answers: ``{"results", "next"}``.

    The one way every list endpoint pages: CursorPage, in the view's ``ordering``.
    ``prepare(page) -> rows`` turns the page into what the serializer reads (one
    extra query for the whole page, never one per row).
    """
    paginator = CursorPage()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    rows = prepare(page) if prepare is not None else page
    return paginator.get_paginated_response(serializer_class(rows, many=True).data)


def exception_handler(exc, context):
    """Domain errors become HTTP errors, here and nowhere else; nothing secret reaches the response."""
    if isinstance(exc, DATABASE_UNAVAILABLE):
        _log_database_unavailable(context["request"].path, exc)
        set_rollback()
        return Response(DATABASE_UNAVAILABLE_BODY, status=503,
                        headers={"Retry-After": str(DATABASE_RETRY_AFTER)})
    if isinstance(exc, ApplicationError):
        if isinstance(exc, DecryptionError):
            # The message names keyring/context/key id only.
            logger.error("decryption failed while serving %s: %s", context["request"].path, exc)
        # No set_rollback() (DRF's handler calls it): a refused secret read has already
        # written its audit row, and that row must stay.
        body = {"detail": exc.public_detail(), "code": exc.code, **exc.public_extra()}
        return Response(body, status=exc.status_code)
    if isinstance(exc, django_exceptions.ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, django_exceptions.ObjectDoesNotExist):
        exc = Http404()
    return drf_exception_handler(exc, context)


def not_found(request, exception=None):
    """``handler404``: under /agent/v1/ a JSON 404 like every other refusal; elsewhere Django's page.

    A path that matches no route (an id that is not a UUID, an unknown endpoint) never
    reaches DRF, so without this it would answer Django's HTML 404.
    """
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def _log_database_unavailable(path: str, exc: Exception) -> None:
    # The exception's class only: a driver message names the server, and no traceback is needed.
    logger.error("database unavailable while serving %s: %s", path, type(exc).__name__)


def server_error(request):
    """``handler500``: what reached Django's last resort, outside DRF (the admin, a middleware).

    Database unreachable: a 503 with ``Retry-After``, the API's JSON body under
    ``/agent/v1/``, a plain page elsewhere. Anything else: Django's plain 500 page.
    """
    exc = sys.exc_info()[1]
    if not isinstance(exc, DATABASE_UNAVAILABLE):
        return defaults.server_error(request)
    _log_database_unavailable(request.path, exc)
    if request.path.startswith(API_PREFIX):
        response = JsonResponse(DATABASE_UNAVAILABLE_BODY, status=503)
    else:
        response = HttpResponse(
            "<!doctype html><title>Service unavailable</title><h1>Service unavailable</h1>"
            "<p>The database is unavailable. Try again in a moment.</p>",
            status=503, content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response
