"""Explicit input/output serializers. Values are write-only: no output serializer has one,
except the reveal response, which exists to return exactly one value on purpose."""

from __future__ import annotations

from rest_framework import serializers

from secrets_app.models import EnvironmentVariable, ProviderKey, env_name_validator


class EnvVarCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=128, validators=[env_name_validator])
    value = serializers.CharField(write_only=True, allow_blank=True, trim_whitespace=False,
                                  style={"input_type": "password"})
    kind = serializers.ChoiceField(choices=EnvironmentVariable.Kind.choices, default=EnvironmentVariable.Kind.PLAIN)


class EnvVarUpdateInput(serializers.Serializer):
    value = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=False,
                                  style={"input_type": "password"})
    kind = serializers.ChoiceField(choices=EnvironmentVariable.Kind.choices, required=False)


class EnvVarOutput(serializers.Serializer):
    """Names and metadata. ``is_set`` is false after a revoke; the value itself never appears."""

    name = serializers.CharField()
    kind = serializers.CharField()
    version = serializers.IntegerField()
    is_set = serializers.BooleanField(source="has_value")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)

    # The hot path of an env-var page, built by hand: DRF's field-by-field walk cost
    # more than the rest of the list. The declared fields above stay the schema;
    # tests/secrets_app/test_env_var_output.py checks both give the same output.
    def to_representation(self, instance):
        updated_by = instance.updated_by
        return {
            "name": instance.name,
            "kind": str(instance.kind),
            "version": instance.version,
            "is_set": bool(instance.has_value),
            "created_at": _datetime.to_representation(instance.created_at),
            "updated_at": _datetime.to_representation(instance.updated_at),
            "updated_by": None if updated_by is None else updated_by.username,
        }


_datetime = serializers.DateTimeField()


class EnvVarVersionOutput(serializers.Serializer):
    """An archived version: who wrote it and when, who replaced it, whether it was destroyed. Never the value."""

    version = serializers.IntegerField()
    kind = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    archived_at = serializers.DateTimeField()
    archived_by = serializers.CharField(source="archived_by.username", allow_null=True, default=None)
    destroyed = serializers.SerializerMethodField()
    destroyed_at = serializers.DateTimeField(allow_null=True)

    def get_destroyed(self, obj) -> bool:
        return obj.destroyed_at is not None


class RollbackInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="the archived version whose value to restore")


class VersionRevealOutput(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()
    value = serializers.CharField()


class RevealInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="why you need to see the value; audited")


class RevealOutput(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField()


class ProviderKeyCreateInput(serializers.Serializer):
    provider = serializers.ChoiceField(choices=ProviderKey.Provider.choices)
    label = serializers.CharField(max_length=100)
    secret = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})


class ProviderKeyRotateInput(serializers.Serializer):
    secret = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})


class ProviderKeyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    provider = serializers.CharField()
    label = serializers.CharField()
    env_var_name = serializers.CharField(help_text="the variable that holds the secret")
    is_default = serializers.BooleanField()
    status = serializers.CharField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    rotated_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ProviderKeyTestOutput(serializers.Serializer):
    exists = serializers.BooleanField()
    decryptable = serializers.BooleanField()


class SkillReadinessOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    required_env = serializers.ListField(child=serializers.CharField())
    set = serializers.ListField(child=serializers.CharField(), help_text="names that have a value here")
    missing = serializers.ListField(child=serializers.CharField())
    ready = serializers.BooleanField()
