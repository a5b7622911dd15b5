"""Explicit input/output serializers. The secret appears only in ``EntitySecretOutput``."""

from rest_framework import serializers

from entities.models import ConnectedEntity
from entities.services import MAX_GRACE_SECONDS


class EntityOutput(serializers.ModelSerializer):
    scope = serializers.CharField(read_only=True)
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = ConnectedEntity
        fields = [
            "id", "slug", "display_name", "base_url", "scope", "status", "secret_prefix",
            "last_connected_at", "secret_rotated_at", "previous_secret_valid_until",
            "created_by", "created_at",
        ]
        read_only_fields = fields

    def get_created_by(self, obj) -> str | None:
        return obj.created_by.get_username() if obj.created_by else None


class EntitySecretOutput(EntityOutput):
    """The one-time reveal for REST clients: create and regenerate only."""

    secret = serializers.CharField(read_only=True, help_text="Shown in this response only. Store it now.")

    class Meta(EntityOutput.Meta):
        fields = [*EntityOutput.Meta.fields, "secret"]
        read_only_fields = fields


class EntityCreateInput(serializers.Serializer):
    slug = serializers.CharField(max_length=63)
    display_name = serializers.CharField(max_length=200)
    base_url = serializers.URLField(max_length=500)


class EntityUpdateInput(serializers.Serializer):
    display_name = serializers.CharField(max_length=200, required=False)
    base_url = serializers.URLField(max_length=500, required=False)


class EntityRegenerateInput(serializers.Serializer):
    grace_seconds = serializers.IntegerField(
        min_value=0, max_value=MAX_GRACE_SECONDS, default=0,
        help_text="Keep the old secret valid for auth this many seconds (0 = invalidate now, max 24 h).",
    )


class WhoamiOutput(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    display_name = serializers.CharField()
    scope = serializers.CharField()
    status = serializers.CharField()
    auth_method = serializers.ChoiceField(choices=["bearer", "signature"])
    used_previous_secret = serializers.BooleanField(help_text="True while the grace-window secret was used.")


class HeartbeatOutput(serializers.Serializer):
    last_connected_at = serializers.DateTimeField()
