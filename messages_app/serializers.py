"""Explicit input and output serializers. Output reads encrypted fields through MessageCryptoService."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .crypto_service import DECRYPTION_FAILED, MessageCryptoService
from .models import Message, SafetyEvent

ERROR_HELP = f'null when the value read; "{DECRYPTION_FAILED}" when it could not be decrypted (the value is then null).'
KEY_ID_HELP = "Key id of the first encrypted value of this item that could not be decrypted, else null."


@extend_schema_field({"type": "string", "nullable": True, "example": DECRYPTION_FAILED, "description": ERROR_HELP})
class DecryptionErrorField(serializers.CharField):
    """``null`` or ``"decryption_failed"``.

    Described, not declared as an enum: spectacular would name one enum per field
    and warn that the same choice set has several names.
    """


def _error_field():
    return DecryptionErrorField(allow_null=True, help_text=ERROR_HELP)


class DecryptingSerializer(serializers.Serializer):
    """Output serializer whose instance is first passed through the crypto read path."""

    def to_representation(self, instance):
        return super().to_representation(MessageCryptoService.decrypted(instance))


def paginated(serializer_class: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The ``{"results": [...], "next": url|null}`` envelope of platos.api.CursorPage, for the schema."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": serializer_class(many=True),
            "next": serializers.URLField(allow_null=True, help_text="URL of the next page, or null."),
        },
    )


class TextField(serializers.CharField):
    """Message text: a JSON string, stored exactly as sent (no trimming, no number coercion)."""

    default_error_messages = {"not_text": "Must be a string."}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)


# --- threads ------------------------------------------------------------------
class ThreadInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    project = serializers.SlugField(max_length=63, help_text="slug of the thread's project")
    environment = serializers.SlugField(max_length=63, required=False, allow_null=True,
                                        help_text="slug of an environment of that project")


class ThreadOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True)
    project = serializers.CharField(source="project.slug", allow_null=True, help_text="project slug")
    project_id = serializers.IntegerField(allow_null=True)
    environment = serializers.CharField(source="environment.slug", allow_null=True, help_text="environment slug")
    created_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(allow_null=True)
    forked_from_thread = serializers.UUIDField(source="forked_from_thread_id", allow_null=True)
    forked_from_message = serializers.UUIDField(source="forked_from_message_id", allow_null=True)


class ThreadForkInputSerializer(serializers.Serializer):
    message_id = serializers.UUIDField(help_text="Last message to copy (active, in this thread).")
    title = serializers.CharField(max_length=200, required=False, help_text="Defaults to the source title.")


# --- messages -----------------------------------------------------------------
class MessageInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Message.Role.choices)
    content = TextField(allow_blank=True)
    thinking_content = TextField(allow_blank=True, allow_null=True, required=False)


class MessageEditInputSerializer(serializers.Serializer):
    content = TextField(allow_blank=True)


class MessageListQuerySerializer(serializers.Serializer):
    include_edited = serializers.BooleanField(
        default=False, help_text="true: every revision, edited-out ones included."
    )


_datetime = serializers.DateTimeField()


def _uuid(value) -> str | None:
    return None if value is None else str(value)


class ToolCallOutputSerializer(DecryptingSerializer):
    id = serializers.UUIDField()
    tool_name = serializers.CharField()
    call_id = serializers.CharField()
    arguments = serializers.JSONField(allow_null=True)
    arguments_error = _error_field()
    result = serializers.JSONField(allow_null=True)
    result_error = _error_field()
    key_id = serializers.CharField(allow_null=True, help_text=KEY_ID_HELP)
    created_at = serializers.DateTimeField()

    # The hot path of a message page: built by hand (DRF's field-by-field walk cost
    # more than the decryption). The declared fields above stay the schema;
    # tests/messages_app/test_api.py checks both have the same keys.
    def to_representation(self, instance):
        readout = MessageCryptoService.read(instance, ("arguments", "result"))
        return {
            "id": str(instance.id),
            "tool_name": instance.tool_name,
            "call_id": instance.call_id,
            **readout,
            "created_at": _datetime.to_representation(instance.created_at),
        }


class MessageOutputSerializer(DecryptingSerializer):
    id = serializers.UUIDField()
    thread = serializers.UUIDField(source="thread_id")
    sequence = serializers.IntegerField(help_text="Position in the thread; revisions append.")
    role = serializers.ChoiceField(choices=Message.Role.choices)
    content = serializers.CharField(allow_null=True)
    content_error = _error_field()
    thinking_content = serializers.CharField(allow_null=True)
    thinking_content_error = _error_field()
    key_id = serializers.CharField(allow_null=True, help_text=KEY_ID_HELP)
    status = serializers.ChoiceField(choices=Message.Status.choices)
    revision = serializers.IntegerField()
    edit_parent = serializers.UUIDField(source="edit_parent_id", allow_null=True)
    created_at = serializers.DateTimeField()
    tool_calls = ToolCallOutputSerializer(many=True, source="tool_calls.all")

    def to_representation(self, instance):  # by hand, see ToolCallOutputSerializer
        tool_call = self.fields["tool_calls"].child
        calls = getattr(instance, "prefetched_tool_calls", None)  # set by selectors.message_list
        if calls is None:
            calls = instance.tool_calls.all()
        readout = MessageCryptoService.read(instance, ("content", "thinking_content"))
        return {
            "id": str(instance.id),
            "thread": str(instance.thread_id),
            "sequence": instance.sequence,
            "role": instance.role,
            **readout,
            "status": instance.status,
            "revision": instance.revision,
            "edit_parent": _uuid(instance.edit_parent_id),
            "created_at": _datetime.to_representation(instance.created_at),
            "tool_calls": [tool_call.to_representation(call) for call in calls],
        }


class MessageEditOutputSerializer(MessageOutputSerializer):
    pending_rerun = serializers.UUIDField(
        source="pending_rerun.id", help_text="The rerun queued for the agent runtime."
    )

    def to_representation(self, instance):
        return {**super().to_representation(instance), "pending_rerun": str(instance.pending_rerun.id)}


# --- safety events --------------------------------------------------------------
class SafetyEventInputSerializer(serializers.Serializer):
    thread = serializers.UUIDField()
    message = serializers.UUIDField(required=False, allow_null=True)
    user = serializers.IntegerField(required=False, allow_null=True, help_text="Id of the user concerned.")
    detector = serializers.ChoiceField(choices=SafetyEvent.Detector.choices)
    action = serializers.ChoiceField(choices=SafetyEvent.Action.choices)
    severity = serializers.ChoiceField(choices=SafetyEvent.Severity.choices)
    detail = TextField(required=False, allow_null=True, allow_blank=True)
    meta = serializers.JSONField(required=False, allow_null=True)

    def validate_user(self, value):
        if value is not None and not get_user_model().objects.filter(pk=value).exists():
            raise serializers.ValidationError("Unknown user.")
        return value


class SafetyEventFilterSerializer(serializers.Serializer):
    detector = serializers.ChoiceField(choices=SafetyEvent.Detector.choices, required=False)
    action = serializers.ChoiceField(choices=SafetyEvent.Action.choices, required=False)
    severity = serializers.ChoiceField(choices=SafetyEvent.Severity.choices, required=False)
    thread = serializers.UUIDField(required=False)
    user = serializers.IntegerField(required=False, min_value=1)
    created_after = serializers.DateTimeField(required=False, help_text="Inclusive lower bound (ISO 8601).")
    created_before = serializers.DateTimeField(required=False, help_text="Exclusive upper bound (ISO 8601).")

    def validate(self, attrs):
        after, before = attrs.get("created_after"), attrs.get("created_before")
        if after and before and after >= before:
            raise serializers.ValidationError({"created_before": ["Must be after created_after."]})
        return attrs


class SafetyEventOutputSerializer(DecryptingSerializer):
    id = serializers.UUIDField()
    thread = serializers.UUIDField(source="thread_id")
    message = serializers.UUIDField(source="message_id", allow_null=True)
    user = serializers.IntegerField(source="user_id", allow_null=True)
    detector = serializers.ChoiceField(choices=SafetyEvent.Detector.choices)
    action = serializers.ChoiceField(choices=SafetyEvent.Action.choices)
    severity = serializers.ChoiceField(choices=SafetyEvent.Severity.choices)
    detail = serializers.CharField(allow_null=True)
    detail_error = _error_field()
    meta = serializers.JSONField(allow_null=True)
    meta_error = _error_field()
    key_id = serializers.CharField(allow_null=True, help_text=KEY_ID_HELP)
    created_at = serializers.DateTimeField()
