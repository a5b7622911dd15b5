"""Input (filters) and output of the monitoring API. No field here can hold a secret value."""

from __future__ import annotations

from rest_framework import serializers

from audit.models import AuditEvent

# Every parameter the endpoint understands; anything else is a 400 naming it.
KNOWN_PARAMS = frozenset({"from", "to", "actor", "key", "scope", "project_id", "action", "success", "limit", "cursor",
                          "format"})


class AuditEventFilterSerializer(serializers.Serializer):
    """Query parameters of GET /agent/v1/monitoring/admin-audit (``from`` is a Python keyword: see get_fields)."""

    to = serializers.DateTimeField(required=False, help_text="ISO 8601; rows before this instant")
    actor = serializers.CharField(required=False, max_length=150)
    key = serializers.CharField(required=False, max_length=200)
    scope = serializers.CharField(required=False, max_length=200)
    project_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    action = serializers.CharField(required=False, max_length=64)
    success = serializers.BooleanField(required=False)
    format = serializers.ChoiceField(choices=["json", "csv"], required=False, default="json")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(required=False, help_text="ISO 8601; rows at or after this")
        return fields

    def validate(self, attrs):
        if "from" in attrs and "to" in attrs and attrs["from"] >= attrs["to"]:
            raise serializers.ValidationError({"to": ["must be later than from"]})
        return attrs

    def filters(self) -> dict:
        """The validated filters as keyword arguments of ``audit_event_filter``."""
        data = self.validated_data
        return {
            "ts_from": data.get("from"),
            "ts_to": data.get("to"),
            "actor": data.get("actor"),
            "key": data.get("key"),
            "scope": data.get("scope"),
            "action": data.get("action"),
            "success": data.get("success"),
            "project_id": data.get("project_id"),
        }


class AuditEventOutputSerializer(serializers.ModelSerializer):
    """One audit row as the API and the CSV export show it."""

    class Meta:
        model = AuditEvent
        fields = [
            "id", "ts", "action", "actor", "actor_user", "key", "scope", "project", "project_id", "subject_type",
            "subject_id",
            "success", "reason", "request_id", "client_ip", "user_agent", "extra", "prev_hash", "row_hash",
        ]
        read_only_fields = fields


class AuditEventPageSerializer(serializers.Serializer):
    """Schema of one page: ``{"results": [...], "next": <url or null>}``."""

    results = AuditEventOutputSerializer(many=True)
    next = serializers.URLField(allow_null=True)
