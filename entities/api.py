"""REST views: one per use case, calling services; entity-facing endpoints use entity auth."""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from entities import selectors, services
from entities.auth import ENTITY_AUTHENTICATION_CLASSES, IsConnectedEntity
from entities.serializers import (
    EntityCreateInput,
    EntityOutput,
    EntityRegenerateInput,
    EntitySecretOutput,
    EntityUpdateInput,
    HeartbeatOutput,
    WhoamiOutput,
)
from platos.api import paginated_response
from secrets_app.scopes import InScope

TAG = ["connected entities"]
# The scope rule of every project-scoped view here: members read, admins write, outsiders get 404.
# InScope sets self.environment.
SCOPED = [permissions.IsAuthenticated, InScope]


def _secret_response(entity, secret, *, status_code):
    data = EntitySecretOutput(entity).data | {"secret": secret}
    response = Response(data, status=status_code)
    add_never_cache_headers(response)  # the one-time reveal must not sit in any cache
    return response


class EntityListCreateApi(GenericAPIView):
    # A GenericAPIView only so the schema shows the paginated list; paging is paginated_response's.
    serializer_class = EntityOutput
    permission_classes = SCOPED

    @extend_schema(tags=TAG, responses=EntityOutput(many=True), summary="List connected entities")
    def get(self, request, **kwargs):
        return paginated_response(self, selectors.entity_list(environment=self.environment), EntityOutput)

    @extend_schema(tags=TAG, request=EntityCreateInput, responses={201: EntitySecretOutput},
                   summary="Create a connected entity (the response carries its secret, once)")
    def post(self, request, **kwargs):
        data = EntityCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        entity, secret = services.entity_create(environment=self.environment, actor=request.user, request=request,
                                                **data.validated_data)
        return _secret_response(entity, secret, status_code=status.HTTP_201_CREATED)


class EntityDetailApi(APIView):
    permission_classes = SCOPED

    @extend_schema(tags=TAG, responses=EntityOutput, summary="Get a connected entity")
    def get(self, request, slug, **kwargs):
        entity = selectors.entity_get(environment=self.environment, slug=slug)
        return Response(EntityOutput(entity).data)

    @extend_schema(tags=TAG, request=EntityUpdateInput, responses=EntityOutput,
                   summary="Change a connected entity's display name or base URL")
    def patch(self, request, slug, **kwargs):
        entity = selectors.entity_get(environment=self.environment, slug=slug)
        data = EntityUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        entity = services.entity_update(entity=entity, actor=request.user, request=request, **data.validated_data)
        return Response(EntityOutput(entity).data)


class EntityDisableApi(APIView):
    permission_classes = SCOPED

    @extend_schema(tags=TAG, request=None, responses=EntityOutput, summary="Disable a connected entity")
    def post(self, request, slug, **kwargs):
        entity = selectors.entity_get(environment=self.environment, slug=slug)
        entity = services.entity_disable(entity=entity, actor=request.user, request=request)
        return Response(EntityOutput(entity).data)


class EntityRegenerateSecretApi(APIView):
    permission_classes = SCOPED

    @extend_schema(tags=TAG, request=EntityRegenerateInput, responses=EntitySecretOutput,
                   summary="Regenerate the secret (the response carries the new one, once)")
    def post(self, request, slug, **kwargs):
        entity = selectors.entity_get(environment=self.environment, slug=slug)
        data = EntityRegenerateInput(data=request.data)
        data.is_valid(raise_exception=True)
        entity, secret = services.entity_secret_regenerate(
            entity=entity, actor=request.user, request=request, **data.validated_data
        )
        return _secret_response(entity, secret, status_code=status.HTTP_200_OK)


class _EntityApi(APIView):
    authentication_classes = ENTITY_AUTHENTICATION_CLASSES
    permission_classes = [IsConnectedEntity]


class EntityWhoamiApi(_EntityApi):
    @extend_schema(tags=["entity"], responses=WhoamiOutput, summary="Which entity am I (proves the credential)")
    def get(self, request):
        entity = request.auth
        return Response(WhoamiOutput({
            "id": entity.pk, "slug": entity.slug, "display_name": entity.display_name, "scope": entity.scope,
            "status": entity.status, "auth_method": request.user.method,
            "used_previous_secret": request.user.used_previous,
        }).data)


class EntityHeartbeatApi(_EntityApi):
    @extend_schema(tags=["entity"], request=None, responses=HeartbeatOutput, summary="Record a heartbeat")
    def post(self, request):
        entity = services.entity_heartbeat(entity=request.auth, request=request._request)
        return Response(HeartbeatOutput({"last_connected_at": entity.last_connected_at}).data)
