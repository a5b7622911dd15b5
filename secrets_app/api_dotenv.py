"""REST API of .env import and export, under /agent/v1/projects/{project}/environments/{environment}/.

Both are project-admin only (POST is a write for ``InScope``). Refusals are domain
errors mapped by ``platos.api.exception_handler``; reports name variables, never values.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from secrets_app import services
from secrets_app.api import ERROR, SCOPE_PARAMS, _ScopedApi
from secrets_app.api_versions import NoStore
from secrets_app.serializers import RevealInput


class EnvImportInput(serializers.Serializer):
    dotenv = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                   help_text=".env text (comments, export, quotes, escapes)")
    variables = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                      required=False, help_text="{NAME: value}")

    def validate(self, attrs):
        if ("dotenv" in attrs) == ("variables" in attrs):
            raise serializers.ValidationError("send either 'dotenv' or 'variables'")
        return attrs


class EnvImportQuery(serializers.Serializer):
    on_conflict = serializers.ChoiceField(choices=services.dotenv_io.ON_CONFLICT, default="fail")
    dry_run = serializers.BooleanField(default=False)


INVALID = inline_serializer("EnvImportInvalid", fields={
    "line": serializers.IntegerField(allow_null=True), "name": serializers.CharField(),
    "error": serializers.CharField()})
REPORT = inline_serializer("EnvImportReport", fields={
    "created": serializers.ListField(child=serializers.CharField()),
    "updated": serializers.ListField(child=serializers.CharField()),
    "skipped": serializers.ListField(child=serializers.CharField()),
    "invalid": INVALID.__class__(many=True), "dry_run": serializers.BooleanField()})


@method_decorator(sensitive_post_parameters("dotenv", "variables"), name="dispatch")
@extend_schema(tags=["secrets"], parameters=SCOPE_PARAMS)
class EnvImportApi(_ScopedApi):
    @extend_schema(
        operation_id="env_import", request=EnvImportInput,
        parameters=[OpenApiParameter("on_conflict", OpenApiTypes.STR, enum=["fail", "skip", "overwrite"]),
                    OpenApiParameter("dry_run", OpenApiTypes.BOOL)],
        responses={200: REPORT, 400: OpenApiResponse(ERROR, description="invalid entries; nothing written")},
        description="Project admins only. One transaction, one secret.write audit row per variable. With "
        "on_conflict=fail (the default) any invalid line or existing name writes nothing.",
    )
    def post(self, request, project, environment):
        query = EnvImportQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = EnvImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.env_vars_import(environment=self.environment, actor=request.user, request=request,
                                          **data.validated_data, **query.validated_data)
        return Response(report)


@extend_schema(tags=["secrets"], parameters=SCOPE_PARAMS)
class EnvExportApi(NoStore, _ScopedApi):
    @extend_schema(operation_id="env_export", request=RevealInput,
                   responses={(200, "text/plain"): OpenApiTypes.STR, 400: ERROR, 409: ERROR},
                   description="Project admins only. The environment's variables as a .env file (provider-key "
                   "secrets left out); one secret.export audit row naming them. Cache-Control: no-store.")
    def post(self, request, project, environment):
        data = RevealInput(data=request.data)
        data.is_valid(raise_exception=True)
        text = services.env_vars_export(environment=self.environment, reason=data.validated_data["reason"],
                                        actor=request.user, request=request)
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{project}-{environment}.env"'
        return response
