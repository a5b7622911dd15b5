"""API tokens in the admin: metadata only (name, prefix, owner, dates). No token and no
digest is ever rendered; a token is minted by its owner (API) or ``manage.py token_create``,
and revoking here is audited like revoking through the API."""

from django.contrib import admin

from secrets_app.tokens import services
from secrets_app.tokens.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "token_key", "user", "created", "last_used_at", "expiry")
    list_filter = ("expiry",)
    search_fields = ("name", "user__username")
    date_hierarchy = "created"
    fields = ("name", "token_key", "user", "created", "last_used_at", "expiry")
    readonly_fields = fields
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def lookup_allowed(self, lookup, value, request=None):
        if lookup.split("__")[0] == "digest":
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletes go through the audited service
        return actions

    def delete_model(self, request, obj):
        services.token_revoke(token=obj, actor=request.user, request=request)

    @admin.action(description="Revoke the selected tokens", permissions=["delete"])
    def revoke_selected(self, request, queryset):
        for token in queryset.select_related("user"):
            services.token_revoke(token=token, actor=request.user, request=request)
        self.message_user(request, f"Revoked {len(queryset)} token(s).")
