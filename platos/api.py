"""API plumbing shared by every app: pagination shape and the one exception handler."""

from __future__ import annotations

import logging

from django.core import exceptions as django_exceptions
from django.http import Http404
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from platos.core.envelope import DecryptionError

logger = logging.getLogger("platos.api")


class CursorPage(pagination.CursorPagination):
    """``{"results": [...], "next": <url or null>}`` with ``?limit=`` (1-500, default 50)."""

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


def paginated_response(view, queryset, serializer_class, *, page_class=None, prepare=None) -> Response:
    """One page of ``queryset`` in the list shape every endpoint answers: ``{"results", "next"}``.

    ``page_class`` defaults to the view's ``pagination_class`` (else CursorPage);
    ``prepare(page) -> rows`` turns the page into what the serializer reads (one
    extra query for the whole page, never one per row).
    """
    paginator = (page_class or getattr(view, "pagination_class", None) or CursorPage)()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    rows = prepare(page) if prepare is not None else page
    return paginator.get_paginated_response(serializer_class(rows, many=True).data)


def exception_handler(exc, context):
    """Domain errors become HTTP errors; nothing secret reaches the response."""
    if isinstance(exc, django_exceptions.ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, django_exceptions.ObjectDoesNotExist):
        exc = Http404()
    elif isinstance(exc, DecryptionError):
        # A stored value that cannot be decrypted is a state of that item, not a crash:
        # a clear error (409), never ciphertext and never a 500 with a trace. The
        # message names keyring/context/key id only.
        logger.error("decryption failed while serving %s: %s", context["request"].path, exc)
        return Response(
            {"detail": "The stored value could not be decrypted.", "code": "decryption_failed",
             "key_id": exc.key_id},
            status=409,
        )
    return drf_exception_handler(exc, context)
