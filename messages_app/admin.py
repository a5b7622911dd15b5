"""Admin for conversations: read-only, metadata for everyone, plaintext only with a permission.

Writes go through the API and its services, so nothing here is editable. The
encrypted columns are never form fields (a read-only form field would render the
decrypted value to anyone who can view the row); they are shown by the methods
below, which ask MessageCryptoService and check ``view_message_plaintext``.
"""

from __future__ import annotations

import json
from contextvars import ContextVar

from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup

from audit.services import audit_record

from .crypto_service import MessageCryptoService
from .models import Message, SafetyEvent, Thread, ToolCall

PLAINTEXT_PERMISSION = "messages_app.view_message_plaintext"
HIDDEN = "(hidden: needs the view_message_plaintext permission)"


# The request being rendered. Admin display methods only receive the object, and
# ModelAdmin instances are shared by every request of every thread, so the
# request cannot be kept on ``self``. A ContextVar is per thread/task; unset means
# "no user": plaintext stays hidden (fail closed).
_request: ContextVar = ContextVar("messages_admin_request", default=None)
# How many plaintext values this request has shown (None outside an admin view).
_shown: ContextVar = ContextVar("messages_admin_plaintext_shown", default=None)


def _can_see_plaintext(request) -> bool:
    return request is not None and request.user.has_perm(PLAINTEXT_PERMISSION)


def _text(instance, field: str) -> str:
    return _display(_request.get(), instance, field)


def _display(request, instance, field: str) -> str:
    """Text for one encrypted field: plaintext, a hidden marker, or a decryption error; never ciphertext."""
    readout = MessageCryptoService.read(instance, [field])
    if readout[f"{field}_error"]:
        return f"(cannot be decrypted; key id {readout['key_id']})"
    value = readout[field]
    if value is None:
        return "-"
    if not _can_see_plaintext(request):
        return HIDDEN
    shown = _shown.get()
    if shown is not None:
        shown.append(instance.pk)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=1)


class ReadOnlyAdminMixin:
    """Viewable, never added, changed or deleted from the admin; no filtering on ciphertext."""

    def _rendered_with_request(self, request, view, *args, **kwargs):
        token, shown_token = _request.set(request), _shown.set([])
        try:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()  # display methods run while rendering: keep the request set
            shown = _shown.get()
            if shown:
                # Showing decrypted conversation text is a governed action: one audit row
                # per page. If it cannot be written, the page is not served.
                object_id = kwargs.get("object_id", args[0] if args else "")
                audit_record(
                    action="message.plaintext.view", success=True, actor=request.user, request=request,
                    subject_type=self.model._meta.label_lower, subject_id=str(object_id or ""),
                    extra={"fields_shown": len(shown)},
                )
            return response
        finally:
            _request.reset(token)
            _shown.reset(shown_token)

    def changeform_view(self, request, *args, **kwargs):
        return self._rendered_with_request(request, super().changeform_view, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):
        return self._rendered_with_request(request, super().changelist_view, *args, **kwargs)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def lookup_allowed(self, lookup, value, request=None):
        encrypted = set(MessageCryptoService.encrypted_field_names(self.model))
        if lookup.split("__", 1)[0] in encrypted:
            raise DisallowedModelAdminLookup(f"Filtering on encrypted field {lookup!r} is not allowed")
        return super().lookup_allowed(lookup, value, request)


class MessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Message
    fk_name = "thread"
    extra = 0
    ordering = ["sequence"]
    fields = ("sequence", "role", "status", "revision", "created_at", "content_text")
    readonly_fields = fields
    show_change_link = True


    @admin.display(description="content")
    def content_text(self, obj):
        return _text(obj, "content")


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("title", "id", "created_by", "project_slug", "environment_slug", "created_at", "archived_at")
    list_filter = ("archived_at", "project_slug", "environment_slug")
    search_fields = ("title", "=id")
    date_hierarchy = "created_at"
    fields = (
        "id", "title", "created_by", "project_slug", "environment_slug", "created_at", "archived_at",
        "forked_from_thread", "forked_from_message",
    )
    readonly_fields = fields
    inlines = [MessageInline]


class ToolCallInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ToolCall
    extra = 0
    fields = ("tool_name", "call_id", "created_at", "arguments_text", "result_text")
    readonly_fields = fields


    @admin.display(description="arguments")
    def arguments_text(self, obj):
        return _text(obj, "arguments")

    @admin.display(description="result")
    def result_text(self, obj):
        return _text(obj, "result")


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "thread", "sequence", "role", "status", "revision", "created_at")
    list_filter = ("role", "status")
    list_select_related = ("thread",)
    search_fields = ("=id", "=thread__id")
    date_hierarchy = "created_at"
    fields = (
        "id", "thread", "sequence", "role", "status", "revision", "edit_parent", "created_at",
        "content_text", "thinking_content_text",
    )
    readonly_fields = fields
    inlines = [ToolCallInline]


    @admin.display(description="content")
    def content_text(self, obj):
        return _text(obj, "content")

    @admin.display(description="thinking content")
    def thinking_content_text(self, obj):
        return _text(obj, "thinking_content")


@admin.register(SafetyEvent)
class SafetyEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "detector", "action", "severity", "thread", "user", "id")
    list_filter = ("detector", "action", "severity")
    list_select_related = ("thread", "user")
    search_fields = ("=id", "=thread__id")
    date_hierarchy = "created_at"
    fields = (
        "id", "thread", "message", "user", "detector", "action", "severity", "created_at",
        "detail_text", "meta_text",
    )
    readonly_fields = fields


    @admin.display(description="detail")
    def detail_text(self, obj):
        return _text(obj, "detail")

    @admin.display(description="meta")
    def meta_text(self, obj):
        return _text(obj, "meta")
