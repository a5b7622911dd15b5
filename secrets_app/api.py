"""REST API under /agent/v1/projects/{project}/environments/{environment}/.

Members of the project may list and inspect names/metadata, test a provider key and
see skill readiness; every write and every reveal needs the project's admin role.
Outsiders get 404 for everything (a project they cannot see does not exist for them).
That rule is ``secrets_app.scopes.InScope``; refusals are mapped to HTTP by
``platos.api.exception_handler``.
"""

from __future__ import annotations

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from platos.api import paginated_response
from secrets_app import selectors, services
from secrets_app.scopes import InScope
from secrets_app.serializers import (
    EnvVarCreateInput,
    EnvVarOutput,
    EnvVarUpdateInput,
    ProviderKeyCreateInput,
    ProviderKeyOutput,
    ProviderKeyRotateInput,
    ProviderKeyTestOutput,
    RevealInput,
    RevealOutput,
    SkillReadinessOutput,
)
from secrets_app.throttles import RevealRateThrottle

SCOPE_PARAMS = [
    OpenApiParameter("project", OpenApiTypes.STR, OpenApiParameter.PATH, description="project slug"),
    OpenApiParameter("environment", OpenApiTypes.STR, OpenApiParameter.PATH, description="environment slug"),
]
NAME_PARAM = OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, description="variable name")
KEY_PARAM = OpenApiParameter("key_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="provider key id")
ERROR = inline_serializer("SecretsError", fields={"detail": serializers.CharField(),
                                                   "code": serializers.CharField(required=False)})


@method_decorator(sensitive_post_parameters("value", "secret"), name="dispatch")
class _ScopedApi(APIView):
    """Base of every view here: InScope sets ``self.environment`` (reads: members; writes: admins).

    Form-encoded secret fields are hidden from Django's error reports.
    """

    permission_classes = [permissions.IsAuthenticated, InScope]


# --- environment variables ------------------------------------------------------------

@extend_schema(tags=["secrets"], parameters=SCOPE_PARAMS)
class EnvVarListCreateApi(_ScopedApi):
    ordering = "name"

    @extend_schema(operation_id="env_vars_list", responses=EnvVarOutput(many=True))
    def get(self, request, project, environment):
        env = self.environment
        return paginated_response(self, selectors.env_var_list(environment=env), EnvVarOutput)

    @extend_schema(operation_id="env_vars_create", request=EnvVarCreateInput,
                   responses={201: EnvVarOutput, 400: ERROR})
    def post(self, request, project, environment):
        env = self.environment
        data = EnvVarCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        variable = services.env_var_create(environment=env, actor=request.user, request=request, **data.validated_data)
        out = selectors.env_var_get(environment=env, name=variable.name)
        return Response(EnvVarOutput(out).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["secrets"], parameters=[*SCOPE_PARAMS, NAME_PARAM])
class EnvVarDetailApi(_ScopedApi):
    @extend_schema(operation_id="env_vars_retrieve", responses=EnvVarOutput)
    def get(self, request, project, environment, name):
        env = self.environment
        return Response(EnvVarOutput(selectors.env_var_get(environment=env, name=name)).data)

    @extend_schema(operation_id="env_vars_update", request=EnvVarUpdateInput, responses={200: EnvVarOutput, 400: ERROR})
    def patch(self, request, project, environment, name):
        env = self.environment
        variable = selectors.env_var_get(environment=env, name=name)
        data = EnvVarUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.env_var_update(variable=variable, actor=request.user, request=request, **data.validated_data)
        return Response(EnvVarOutput(selectors.env_var_get(environment=env, name=name)).data)

    @extend_schema(operation_id="env_vars_destroy", responses={204: None, 400: ERROR})
    def delete(self, request, project, environment, name):
        env = self.environment
        services.env_var_delete(variable=selectors.env_var_get(environment=env, name=name),
                                actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["secrets"], parameters=[*SCOPE_PARAMS, NAME_PARAM])
class EnvVarRevealApi(_ScopedApi):
    throttle_classes = [RevealRateThrottle]  # reveals per user: PLATOS_THROTTLE_REVEALS_PER_USER

    @extend_schema(
        operation_id="env_vars_reveal",
        description="Project admins only. Returns the plaintext once per call; every call is audited "
        "(secret.reveal) with the reason given. Served with Cache-Control: no-store.",
        request=RevealInput,
        responses={200: RevealOutput, 400: ERROR, 409: OpenApiResponse(ERROR, description="no value to reveal")},
    )
    def post(self, request, project, environment, name):
        env = self.environment
        data = RevealInput(data=request.data)
        data.is_valid(raise_exception=True)
        variable, value = services.env_var_reveal_by_name(environment=env, name=name,
                                                          reason=data.validated_data["reason"],
                                                          actor=request.user, request=request)
        return Response({"name": variable.name, "value": value.reveal()})

    def finalize_response(self, request, response, *args, **kwargs):
        # Every answer of this endpoint, the 409 of a refused reveal included, stays out of caches.
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


# --- provider keys --------------------------------------------------------------------

@extend_schema(tags=["provider keys"], parameters=SCOPE_PARAMS)
class ProviderKeyListCreateApi(_ScopedApi):

    @extend_schema(operation_id="provider_keys_list", responses=ProviderKeyOutput(many=True))
    def get(self, request, project, environment):
        env = self.environment
        return paginated_response(self, selectors.provider_key_list(environment=env), ProviderKeyOutput)

    @extend_schema(operation_id="provider_keys_create", request=ProviderKeyCreateInput,
                   responses={201: ProviderKeyOutput, 400: ERROR})
    def post(self, request, project, environment):
        env = self.environment
        data = ProviderKeyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        key = services.provider_key_create(environment=env, actor=request.user, request=request, **data.validated_data)
        return Response(ProviderKeyOutput(key).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["provider keys"], parameters=[*SCOPE_PARAMS, KEY_PARAM])
class ProviderKeyDetailApi(_ScopedApi):
    @extend_schema(operation_id="provider_keys_retrieve", responses=ProviderKeyOutput)
    def get(self, request, project, environment, key_id):
        env = self.environment
        return Response(ProviderKeyOutput(selectors.provider_key_get(environment=env, key_id=key_id)).data)

    @extend_schema(operation_id="provider_keys_destroy", responses={204: None})
    def delete(self, request, project, environment, key_id):
        env = self.environment
        services.provider_key_delete(key=selectors.provider_key_get(environment=env, key_id=key_id),
                                     actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["provider keys"], parameters=[*SCOPE_PARAMS, KEY_PARAM])
class ProviderKeyRotateApi(_ScopedApi):
    @extend_schema(operation_id="provider_keys_rotate", request=ProviderKeyRotateInput,
                   responses={200: ProviderKeyOutput, 400: ERROR})
    def post(self, request, project, environment, key_id):
        env = self.environment
        key = selectors.provider_key_get(environment=env, key_id=key_id)
        data = ProviderKeyRotateInput(data=request.data)
        data.is_valid(raise_exception=True)
        key = services.provider_key_rotate(key=key, secret=data.validated_data["secret"],
                                           actor=request.user, request=request)
        return Response(ProviderKeyOutput(key).data)


def _action_view(service, operation_id: str, description: str):
    @extend_schema(tags=["provider keys"], parameters=[*SCOPE_PARAMS, KEY_PARAM])
    class ProviderKeyActionApi(_ScopedApi):
        @extend_schema(operation_id=operation_id, description=description, request=None,
                       responses={200: ProviderKeyOutput, 400: ERROR})
        def post(self, request, project, environment, key_id):
            env = self.environment
            key = selectors.provider_key_get(environment=env, key_id=key_id)
            return Response(ProviderKeyOutput(service(key=key, actor=request.user, request=request)).data)

    ProviderKeyActionApi.__name__ = ProviderKeyActionApi.__qualname__ = f"ProviderKey_{operation_id}_Api"
    return ProviderKeyActionApi


ProviderKeyDisableApi = _action_view(services.provider_key_disable, "provider_keys_disable",
                                     "Stop serving the key (reversible with enable).")
ProviderKeyEnableApi = _action_view(services.provider_key_enable, "provider_keys_enable",
                                    "Serve a disabled key again. A revoked key cannot be enabled.")
ProviderKeyRevokeApi = _action_view(services.provider_key_revoke, "provider_keys_revoke",
                                    "Destroy the secret; the key's row stays for history. Final.")
ProviderKeySetDefaultApi = _action_view(services.provider_key_set_default, "provider_keys_set_default",
                                        "Make this key the default of its provider in this environment.")


@extend_schema(tags=["provider keys"], parameters=[*SCOPE_PARAMS, KEY_PARAM])
class ProviderKeyTestApi(_ScopedApi):
    # A POST that reads: it says whether the secret exists and decrypts, never the value,
    # so members may run it like any other read.
    scope_read_methods = (*permissions.SAFE_METHODS, "POST")

    @extend_schema(operation_id="provider_keys_test", request=None, responses=ProviderKeyTestOutput,
                   description="Whether the key's secret exists and decrypts. Never the value.")
    def post(self, request, project, environment, key_id):
        env = self.environment
        key = selectors.provider_key_get(environment=env, key_id=key_id)
        return Response(ProviderKeyTestOutput(services.provider_key_test(key=key, actor=request.user,
                                                                         request=request)).data)


# --- skills ---------------------------------------------------------------------------

@extend_schema(tags=["skills"], parameters=SCOPE_PARAMS)
class SkillReadinessListApi(_ScopedApi):
    ordering = "slug"

    @extend_schema(operation_id="skills_readiness_list", responses=SkillReadinessOutput(many=True),
                   description="Per skill, which required env names are set in this environment. Names only.")
    def get(self, request, project, environment):
        env = self.environment
        return paginated_response(
            self, selectors.skill_list(), SkillReadinessOutput,
            prepare=lambda page: selectors.skill_readiness(environment=env, skills=page),
        )
