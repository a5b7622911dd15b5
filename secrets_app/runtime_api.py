"""Machine identities over REST.

* ``/agent/v1/projects/{project}/service-accounts/…``: project admins manage their
  project's service accounts (a token is in a response only when it is minted).
* ``/agent/v1/runtime/environments/{environment}/env…``: the runtime read API, for
  service accounts only (a human's token gets 403), throttled per account, every
  variable served one ``secret.read`` audit row, ``Cache-Control: no-store``.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from platos.api import paginated_response
from secrets_app.models import ServiceAccount
from secrets_app.scopes import WRITE_ROLE, project_get_for_user
from secrets_app.services import service_accounts as services
from secrets_app.throttles import RuntimeReadRateThrottle
from secrets_app.tokens.auth import RuntimeTokenAuthentication, is_service_account

PROJECT_PARAM = OpenApiParameter("project", OpenApiTypes.STR, OpenApiParameter.PATH, description="project slug")
ACCOUNT_PARAM = OpenApiParameter("account_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                                 description="service account id")
ENV_PARAM = OpenApiParameter("environment", OpenApiTypes.STR, OpenApiParameter.PATH,
                             description="environment slug (of the service account's project)")
PURPOSE_HEADER = OpenApiParameter("X-Platos-Purpose", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                                  description="why the runtime reads (kept in each audit row)")


class ServiceAccountCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    environments = serializers.ListField(child=serializers.SlugField(max_length=63), allow_empty=False)
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=365)


class TokenInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=365)


class ServiceAccountOutput(serializers.ModelSerializer):
    environments = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    actor = serializers.CharField(read_only=True)

    class Meta:
        model = ServiceAccount
        fields = ["id", "name", "environments", "is_active", "actor", "created_at"]


class ServiceAccountCreatedOutput(ServiceAccountOutput):
    token = serializers.CharField(read_only=True, help_text="shown once, never again")
    expires_at = serializers.DateTimeField(read_only=True)

    class Meta(ServiceAccountOutput.Meta):
        fields = [*ServiceAccountOutput.Meta.fields, "token", "expires_at"]


TOKEN_OUTPUT = inline_serializer("ServiceAccountTokenCreated", fields={
    "id": serializers.IntegerField(), "name": serializers.CharField(),
    "token": serializers.CharField(help_text="shown once, never again"), "expires_at": serializers.DateTimeField()})


class _ProjectAdminApi(APIView):
    """Project admins only: outsiders 404, members without the admin role 403."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.project = project_get_for_user(user=request.user, project=kwargs["project"], role=WRITE_ROLE)

    def account(self, account_id: int) -> ServiceAccount:
        return (ServiceAccount.objects.select_related("project", "user").prefetch_related("environments")
                .get(project=self.project, pk=account_id))


@extend_schema(tags=["service accounts"], parameters=[PROJECT_PARAM])
class ServiceAccountListCreateApi(_ProjectAdminApi):
    ordering = "name"

    @extend_schema(operation_id="service_accounts_list", responses=ServiceAccountOutput(many=True))
    def get(self, request, project):
        accounts = ServiceAccount.objects.filter(project=self.project).select_related("project") \
            .prefetch_related("environments")
        return paginated_response(self, accounts, ServiceAccountOutput)

    @extend_schema(operation_id="service_accounts_create", request=ServiceAccountCreateInput,
                   responses={201: ServiceAccountCreatedOutput})
    def post(self, request, project):
        data = ServiceAccountCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        account, token, plaintext = services.service_account_create(project=self.project, actor=request.user,
                                                                    request=request, **data.validated_data)
        out = ServiceAccountOutput(self.account(account.pk)).data
        return Response({**out, "token": plaintext, "expires_at": token.expiry}, status=status.HTTP_201_CREATED)


@extend_schema(tags=["service accounts"], parameters=[PROJECT_PARAM, ACCOUNT_PARAM])
class ServiceAccountDisableApi(_ProjectAdminApi):
    @extend_schema(operation_id="service_accounts_disable", request=None, responses=ServiceAccountOutput,
                   description="Final: the account and every token of it stop authenticating.")
    def post(self, request, project, account_id):
        account = services.service_account_disable(account=self.account(account_id), actor=request.user,
                                                   request=request)
        return Response(ServiceAccountOutput(account).data)


@extend_schema(tags=["service accounts"], parameters=[PROJECT_PARAM, ACCOUNT_PARAM])
class ServiceAccountTokenCreateApi(_ProjectAdminApi):
    @extend_schema(operation_id="service_accounts_tokens_create", request=TokenInput, responses={201: TOKEN_OUTPUT})
    def post(self, request, project, account_id):
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, plaintext = services.service_account_token_create(account=self.account(account_id),
                                                                 actor=request.user, request=request,
                                                                 **data.validated_data)
        return Response({"id": token.pk, "name": token.name, "token": plaintext, "expires_at": token.expiry},
                        status=status.HTTP_201_CREATED)


# --- the runtime ----------------------------------------------------------------------

class IsServiceAccount(permissions.BasePermission):
    message = "Only a service account's token may use the runtime API."

    def has_permission(self, request, view) -> bool:
        return is_service_account(request.user) and request.user.service_account.is_active


class _RuntimeApi(APIView):
    authentication_classes = [RuntimeTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated, IsServiceAccount]
    throttle_classes = [RuntimeReadRateThrottle]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.account = request.user.service_account
        self.env = services.service_account_environment_get(account=self.account, environment=kwargs["environment"])
        self.purpose = request.headers.get("X-Platos-Purpose", "") or "runtime"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


@extend_schema(tags=["runtime"], parameters=[ENV_PARAM, PURPOSE_HEADER])
class RuntimeEnvApi(_RuntimeApi):
    @extend_schema(operation_id="runtime_env", responses=inline_serializer("RuntimeEnv", fields={
        "variables": serializers.DictField(child=serializers.CharField())}),
        description="Every variable of the environment (disabled/revoked provider keys withheld); "
                    "one secret.read audit row per variable.")
    def get(self, request, environment):
        values = services.runtime_env_read(account=self.account, environment=self.env, purpose=self.purpose,
                                           request=request)
        return Response({"variables": {name: value.reveal() for name, value in values.items()}})


@extend_schema(tags=["runtime"], parameters=[ENV_PARAM, PURPOSE_HEADER,
                                             OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH)])
class RuntimeEnvVarApi(_RuntimeApi):
    @extend_schema(operation_id="runtime_env_var", responses=inline_serializer("RuntimeEnvVar", fields={
        "name": serializers.CharField(), "value": serializers.CharField(), "version": serializers.IntegerField()}))
    def get(self, request, environment, name):
        value = services.runtime_var_read(account=self.account, environment=self.env, name=name,
                                          purpose=self.purpose, request=request)
        return Response({"name": name, "value": value.reveal(),
                         "version": services.runtime_var_version(environment=self.env, name=name)})
