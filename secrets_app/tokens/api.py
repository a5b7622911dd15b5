"""``/agent/v1/auth/tokens/``: the caller's own API tokens."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from platos.api import paginated_response
from secrets_app.tokens import selectors, services
from secrets_app.tokens.models import ApiToken
from secrets_app.tokens.services import DEFAULT_EXPIRES_DAYS, MAX_EXPIRES_DAYS

TAG = ["auth"]


class TokenCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(min_value=1, max_value=MAX_EXPIRES_DAYS, required=False,
                                               help_text=f"default {DEFAULT_EXPIRES_DAYS}")


class TokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(source="token_key")
    created_at = serializers.DateTimeField(source="created")
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(source="expiry")


class TokenCreatedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    token = serializers.CharField(help_text="Shown in this response only; store it now.")
    expires_at = serializers.DateTimeField()


class TokenListCreateApi(APIView):
    ordering = ("-created", "-id")

    @extend_schema(tags=TAG, responses=TokenOutput(many=True), summary="My API tokens (metadata only)")
    def get(self, request):
        return paginated_response(self, selectors.token_list(user=request.user), TokenOutput)

    @extend_schema(tags=TAG, request=TokenCreateInput, responses={201: TokenCreatedOutput},
                   summary="Create an API token (the response carries it, once)")
    def post(self, request):
        data = TokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, plaintext = services.token_create(user=request.user, actor=request.user, request=request,
                                                 **data.validated_data)
        body = TokenCreatedOutput({"id": token.pk, "name": token.name, "token": plaintext,
                                   "expires_at": token.expiry}).data
        return Response(body, status=status.HTTP_201_CREATED)


class TokenDetailApi(APIView):
    @extend_schema(tags=TAG, responses={204: None}, summary="Revoke one of my API tokens")
    def delete(self, request, token_id: int):
        token = get_object_or_404(ApiToken.objects.select_related("user"), pk=token_id, user=request.user)
        services.token_revoke(token=token, actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
