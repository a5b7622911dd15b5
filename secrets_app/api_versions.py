"""REST API of an env var's version history: list, reveal, roll back, destroy.

Under ``/agent/v1/projects/{project}/environments/{environment}/env-vars/{name}/``.
Members list metadata; every reveal, rollback and destroy needs the project admin
role (``InScope``: POST is a write). Errors are mapped by ``platos.api.exception_handler``.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from platos.api import paginated_response
from secrets_app import selectors, services
from secrets_app.api import ERROR, NAME_PARAM, SCOPE_PARAMS, _ScopedApi
from secrets_app.serializers import (
    EnvVarOutput,
    EnvVarVersionOutput,
    RevealInput,
    RollbackInput,
    VersionRevealOutput,
)

VERSION_PARAM = OpenApiParameter("version", OpenApiTypes.INT, OpenApiParameter.PATH,
                                 description="an archived version number")


class NoStore:
    """Every answer (a refusal included) of a view that may carry a value stays out of caches."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


@extend_schema(tags=["secrets"], parameters=[*SCOPE_PARAMS, NAME_PARAM])
class EnvVarVersionListApi(_ScopedApi):
    ordering = "-version"

    @extend_schema(operation_id="env_var_versions_list", responses=EnvVarVersionOutput(many=True),
                   description="Archived versions, newest first: who wrote each value and when. Never a value.")
    def get(self, request, project, environment, name):
        variable = selectors.env_var_get(environment=self.environment, name=name)
        return paginated_response(self, services.env_var_version_list(variable=variable), EnvVarVersionOutput)


@extend_schema(tags=["secrets"], parameters=[*SCOPE_PARAMS, NAME_PARAM, VERSION_PARAM])
class EnvVarVersionRevealApi(NoStore, _ScopedApi):
    @extend_schema(
        operation_id="env_var_versions_reveal",
        description="Project admins only. Returns one archived value; audited (secret.reveal) with the reason. "
        "Served with Cache-Control: no-store.",
        request=RevealInput,
        responses={200: VersionRevealOutput, 400: ERROR, 404: ERROR,
                   409: OpenApiResponse(ERROR, description="destroyed, or cannot be decrypted")},
    )
    def post(self, request, project, environment, name, version):
        variable = selectors.env_var_get(environment=self.environment, name=name)
        data = RevealInput(data=request.data)
        data.is_valid(raise_exception=True)
        value = services.env_var_version_reveal(variable=variable, version=version,
                                                reason=data.validated_data["reason"],
                                                actor=request.user, request=request)
        return Response({"name": variable.name, "version": version, "value": value.reveal()})


@extend_schema(tags=["secrets"], parameters=[*SCOPE_PARAMS, NAME_PARAM])
class EnvVarRollbackApi(_ScopedApi):
    @extend_schema(operation_id="env_vars_rollback", request=RollbackInput, responses={200: EnvVarOutput, 400: ERROR},
                   description="Project admins only. Writes a new version holding the archived version's value; "
                   "audited (secret.rollback).")
    def post(self, request, project, environment, name):
        variable = selectors.env_var_get(environment=self.environment, name=name)
        data = RollbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.env_var_rollback(variable=variable, version=data.validated_data["version"],
                                  actor=request.user, request=request)
        return Response(EnvVarOutput(selectors.env_var_get(environment=self.environment, name=name)).data)


@extend_schema(tags=["secrets"], parameters=[*SCOPE_PARAMS, NAME_PARAM, VERSION_PARAM])
class EnvVarVersionDestroyApi(_ScopedApi):
    @extend_schema(operation_id="env_var_versions_destroy", request=None,
                   responses={200: EnvVarVersionOutput, 404: ERROR},
                   description="Project admins only. Wipes the archived value for good; its metadata stays. "
                   "Audited (secret.version.destroy).")
    def post(self, request, project, environment, name, version):
        variable = selectors.env_var_get(environment=self.environment, name=name)
        row = services.env_var_version_destroy(variable=variable, version=version, actor=request.user,
                                               request=request)
        return Response(EnvVarVersionOutput(row).data)
