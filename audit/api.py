"""GET /agent/v1/monitoring/admin-audit: the audit log for project admins and superusers.

Which projects a user administers is the store's rule, a layer above this app: the
view is given it as ``projects_for_user`` through ``as_view()`` where the URL is
mounted (``platos/urls.py``, the operations layer), so nothing here imports it.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from audit.csv_export import csv_response
from audit.models import AuditEvent
from audit.selectors import ORDERING, audit_event_filter, audit_event_iter, audit_event_list_for_user
from audit.serializers import (
    KNOWN_PARAMS,
    AuditEventFilterSerializer,
    AuditEventOutputSerializer,
    AuditEventPageSerializer,
)
from audit.services import audit_record
from platos.api import paginated_response


class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None


class FormatIsAParameter(DefaultContentNegotiation):
    """``?format=csv`` is this endpoint's own parameter, not DRF's renderer override.

    The view streams CSV itself (StreamingHttpResponse); with DRF's override a
    ``format`` that no renderer claims would be a 404. Renderers are chosen by
    the Accept header only.
    """

    settings = _NoFormatOverride


_TEXT = OpenApiTypes.STR
PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATETIME, description="ISO 8601; rows at or after this instant"),
    OpenApiParameter("to", OpenApiTypes.DATETIME, description="ISO 8601; rows before this instant"),
    OpenApiParameter("actor", _TEXT, description="exact actor (username or system:<name>)"),
    OpenApiParameter("key", _TEXT, description="exact secret name"),
    OpenApiParameter("scope", _TEXT, description="project/environment, or a project for all its environments"),
    OpenApiParameter("project_id", OpenApiTypes.INT, description="rows of the project with this id"),
    OpenApiParameter("action", _TEXT, enum=AuditEvent.Action.values, description="exact action, e.g. secret.read"),
    OpenApiParameter("success", OpenApiTypes.BOOL, description="true: succeeded; false: failed"),
    OpenApiParameter("limit", OpenApiTypes.INT, description="rows per page, 1-500 (default 50)"),
    OpenApiParameter("cursor", _TEXT, description="opaque; take it from the next link"),
    OpenApiParameter("format", _TEXT, enum=["json", "csv"],
                     description="csv: every matching row as one streamed text/csv download"),
]


class AdminAuditListApi(APIView):
    """The audit log, newest first, filtered; JSON pages or one streamed CSV."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = FormatIsAParameter
    ordering = ORDERING
    # ``projects_for_user(user) -> [(id, slug, created_at)]`` of the projects the user
    # administers (audit.selectors.AdminProject); set by as_view().
    projects_for_user = None

    @classmethod
    def as_view(cls, **initkwargs):
        if not callable(initkwargs.get("projects_for_user")):
            raise ImproperlyConfigured("AdminAuditListApi.as_view() needs projects_for_user=<callable>")
        return super().as_view(**initkwargs)

    @extend_schema(
        operation_id="monitoring_admin_audit_list",
        summary="Audit log (project admins: their projects; superusers: everything)",
        parameters=PARAMETERS,
        responses={
            (200, "application/json"): AuditEventPageSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="with format=csv"),
            400: OpenApiResponse(description="a bad parameter, named in the body"),
            401: OpenApiResponse(description="not authenticated"),
            403: OpenApiResponse(description="neither a superuser nor a project admin"),
        },
        tags=["monitoring"],
    )
    def get(self, request):
        # Who may look comes first: an outsider learns nothing, not even which parameters are wrong.
        qs = audit_event_list_for_user(user=request.user, admin_projects=self.projects_for_user)
        unknown = sorted(set(request.query_params) - KNOWN_PARAMS)
        if unknown:
            raise exceptions.ValidationError({name: ["unknown parameter"] for name in unknown})
        params = AuditEventFilterSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        qs = audit_event_filter(qs, **params.filters())
        if params.validated_data["format"] == "csv":
            # A bulk copy of the log leaves a trace (the filters are not kept: a search box
            # is where a pasted secret would end up).
            audit_record(action=AuditEvent.Action.AUDIT_EXPORT, success=True, request=request, extra={"via": "api"})
            return csv_response(audit_event_iter(qs))
        return paginated_response(self, qs, AuditEventOutputSerializer)
