"""Admin for conversations: read-only, metadata for everyone, plaintext only with a permission.

Writes go through the API and its services, so nothing here is editable. The
encrypted columns are never form fields (a read-only form field would render the
decrypted value to anyone who can view the row); they are shown by the methods
by ``decrypted_column``, which asks the page's PlaintextView (the permission check,
the placeholder rules and the count of values shown live there).
"""

from __future__ import annotations

from contextvars import ContextVar

from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup

from platos.core.admin import ReadOnlyAdminMixin

from .crypto_service import HIDDEN, PLAINTEXT_PERMISSION, MessageCryptoService, PlaintextView
from .models import Message, SafetyEvent, Thread, ToolCall
from .services import message_plaintext_view_record

__all__ = ["HIDDEN", "PLAINTEXT_PERMISSION"]

# The PlaintextView of the page being rendered. Admin display methods only receive
# the object, and ModelAdmin instances are shared by every request of every thread,
# so it cannot be kept on ``self``. A ContextVar is per thread/task; unset means
# "no user": plaintext stays hidden (fail closed). It carries the view only: what a
# field shows is PlaintextView's decision, the audit row the service's.
_view: ContextVar[PlaintextView | None] = ContextVar("messages_admin_plaintext_view", default=None)


def decrypted_column(field: str, description: str):
    """A read-only admin column showing the encrypted ``field`` as the page's PlaintextView decides."""

    @admin.display(description=description)
    def column(model_admin, obj) -> str:
        return (_view.get() or PlaintextView(user=None)).text(obj, field)

    column.__name__ = f"{field}_text"
    return column


class ConversationAdminMixin(ReadOnlyAdminMixin):
    """Read-only; decrypted text per the viewer's permission, audited once per page; no filtering on ciphertext."""

    def _rendered_with_view(self, request, view, *args, **kwargs):
        page = PlaintextView(user=request.user)
        token = _view.set(page)
        try:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()  # display methods run while rendering: keep the view set
            # Showing decrypted conversation text is a governed action. If the row
            # cannot be written, the page is not served.
            message_plaintext_view_record(view=page, user=request.user, model=self.model, request=request,
                                          object_id=kwargs.get("object_id", args[0] if args else ""))
            return response
        finally:
            _view.reset(token)

    def changeform_view(self, request, *args, **kwargs):
        return self._rendered_with_view(request, super().changeform_view, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):
        return self._rendered_with_view(request, super().changelist_view, *args, **kwargs)

    def lookup_allowed(self, lookup, value, request=None):
        encrypted = set(MessageCryptoService.encrypted_field_names(self.model))
        if lookup.split("__", 1)[0] in encrypted:
            raise DisallowedModelAdminLookup(f"Filtering on encrypted field {lookup!r} is not allowed")
        return super().lookup_allowed(lookup, value, request)


class MessageInline(ConversationAdminMixin, admin.TabularInline):
    model = Message
    fk_name = "thread"
    extra = 0
    ordering = ["sequence"]
    fields = ("sequence", "role", "status", "revision", "created_at", "content_text")
    readonly_fields = fields
    show_change_link = True

    content_text = decrypted_column("content", "content")


@admin.register(Thread)
class ThreadAdmin(ConversationAdminMixin, admin.ModelAdmin):
    list_display = ("title", "id", "created_by", "project", "environment", "created_at", "archived_at")
    list_filter = ("archived_at", "project")
    search_fields = ("title", "=id")
    date_hierarchy = "created_at"
    fields = (
        "id", "title", "created_by", "project", "environment", "created_at", "archived_at",
        "forked_from_thread", "forked_from_message",
    )
    readonly_fields = fields
    inlines = [MessageInline]


class ToolCallInline(ConversationAdminMixin, admin.TabularInline):
    model = ToolCall
    extra = 0
    fields = ("tool_name", "call_id", "created_at", "arguments_text", "result_text")
    readonly_fields = fields

    arguments_text = decrypted_column("arguments", "arguments")
    result_text = decrypted_column("result", "result")


@admin.register(Message)
class MessageAdmin(ConversationAdminMixin, admin.ModelAdmin):
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

    content_text = decrypted_column("content", "content")
    thinking_content_text = decrypted_column("thinking_content", "thinking content")


@admin.register(ToolCall)
class ToolCallAdmin(ConversationAdminMixin, admin.ModelAdmin):
    list_display = ("tool_name", "call_id", "message", "created_at", "id")
    list_filter = ("tool_name",)
    list_select_related = ("message",)
    search_fields = ("=id", "=call_id", "=message__id")
    date_hierarchy = "created_at"
    fields = ("id", "message", "tool_name", "call_id", "created_at", "arguments_text", "result_text")
    readonly_fields = fields

    arguments_text = decrypted_column("arguments", "arguments")
    result_text = decrypted_column("result", "result")


@admin.register(SafetyEvent)
class SafetyEventAdmin(ConversationAdminMixin, admin.ModelAdmin):
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

    detail_text = decrypted_column("detail", "detail")
    meta_text = decrypted_column("meta", "meta")
