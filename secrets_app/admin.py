"""Admin: every secret write goes through the services (so it is audited); values are
write-only, masked in lists and can be neither filtered nor searched."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from platos.core.fields import Undecryptable
from secrets_app import services
from secrets_app.admin_audit import AuditedAdminMixin
from secrets_app.models import Environment, EnvironmentVariable, Project, ProjectMembership, ProviderKey, Skill

SECRET_INPUT = "new_value"  # noqa: S105 - a form field name, not a password


class EnvironmentVariableForm(forms.ModelForm):
    """The value is a non-model field: the form never reads, renders or assigns the stored value."""

    new_value = forms.CharField(
        label="Value",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave empty to keep the current value.",
    )

    class Meta:
        model = EnvironmentVariable
        fields = ["environment", "name", "kind"]

    @method_decorator(sensitive_variables("value"))
    def clean_new_value(self):
        value = self.cleaned_data.get(SECRET_INPUT, "")
        if not self.instance.pk and not value:
            raise ValidationError("A new variable needs a value.")
        if value:
            try:
                services.validate_secret_text(value)
            except ValidationError as exc:  # the service speaks {"value": [...]}; this is one field
                raise ValidationError(exc.message_dict.get("value", exc.messages)) from None
        return value

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not cleaned.get(SECRET_INPUT):
            # Keeping a value that cannot be decrypted (a lost key) is not possible:
            # say so on the form rather than failing in save_model.
            stored = EnvironmentVariable.objects.only("value").get(pk=self.instance.pk).value
            if isinstance(stored, Undecryptable):
                self.add_error(SECRET_INPUT, "The stored value cannot be decrypted; set a new value.")
        return cleaned


@admin.register(EnvironmentVariable)
class EnvironmentVariableAdmin(admin.ModelAdmin):
    form = EnvironmentVariableForm
    list_display = ["name", "environment", "kind", "masked_value", "version", "updated_at", "updated_by"]
    list_filter = ["kind", "environment__project"]
    search_fields = ["name"]  # names only: the value is ciphertext and is never searchable
    date_hierarchy = "updated_at"
    list_select_related = ["environment__project", "updated_by"]

    def get_queryset(self, request):
        return (
            super().get_queryset(request)
            .defer("value")  # the list never decrypts a value
            .annotate(has_value=ExpressionWrapper(Q(value__isnull=False), output_field=BooleanField()))
        )

    @admin.display(description="value")
    def masked_value(self, obj) -> str:
        return "•••••••• (set)" if getattr(obj, "has_value", False) else "— (no value)"

    def lookup_allowed(self, lookup, value, request=None):
        if lookup.split("__")[0] == "value":
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_fields(self, request, obj=None):
        return ["environment", "name", "kind", SECRET_INPUT]

    def get_readonly_fields(self, request, obj=None):
        return ["environment", "name"] if obj is not None else []

    def _owned_by_provider_key(self, obj) -> bool:
        return obj is not None and ProviderKey.objects.filter(
            environment_id=obj.environment_id, env_var_name=obj.name).exists()

    def has_change_permission(self, request, obj=None):
        # A provider key's secret is managed by its lifecycle (rotate/revoke), not edited here.
        return super().has_change_permission(request, obj) and not self._owned_by_provider_key(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self._owned_by_provider_key(obj)

    @method_decorator(sensitive_post_parameters(SECRET_INPUT))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    @method_decorator(sensitive_variables("value"))
    def save_model(self, request, obj, form, change):
        value = form.cleaned_data.get(SECRET_INPUT) or None
        if change:
            saved = services.env_var_update(variable=obj, value=value, kind=form.cleaned_data["kind"],
                                            actor=request.user, request=request)
        else:
            saved = services.env_var_create(environment=form.cleaned_data["environment"],
                                            name=form.cleaned_data["name"], value=value,
                                            kind=form.cleaned_data["kind"], actor=request.user, request=request)
        obj.pk, obj.version = saved.pk, saved.version
        obj.value = None  # the admin keeps no plaintext on the object it logs and redirects with

    def delete_model(self, request, obj):
        services.env_var_delete(variable=obj, actor=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.env_var_delete(variable=obj, actor=request.user, request=request)


@admin.register(ProviderKey)
class ProviderKeyAdmin(admin.ModelAdmin):
    """Metadata only; created through the API. Lifecycle actions call the services."""

    list_display = ["label", "provider", "environment", "status", "is_default", "last_used_at", "created_at"]
    list_filter = ["provider", "status", "is_default", "environment__project"]
    search_fields = ["label"]
    date_hierarchy = "created_at"
    list_select_related = ["environment__project"]
    readonly_fields = ["environment", "provider", "label", "env_var_name", "is_default", "status",
                       "last_used_at", "rotated_at", "created_at", "created_by"]
    actions = ["disable", "enable", "revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # delete goes through provider_key_delete (API), which also deletes the variable

    def _run(self, request, queryset, service, verb):
        done = 0
        for key in queryset:
            try:
                service(key=key, actor=request.user, request=request)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{key.label}: {'; '.join(exc.messages)}", messages.ERROR)
        self.message_user(request, f"{verb} {done} key(s).")

    @admin.action(description="Disable selected keys", permissions=["change"])
    def disable(self, request, queryset):
        self._run(request, queryset, services.provider_key_disable, "Disabled")

    @admin.action(description="Enable selected keys", permissions=["change"])
    def enable(self, request, queryset):
        self._run(request, queryset, services.provider_key_enable, "Enabled")

    @admin.action(description="Revoke selected keys (destroys the secret)", permissions=["change"])
    def revoke(self, request, queryset):
        self._run(request, queryset, services.provider_key_revoke, "Revoked")


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "required_env", "created_at"]
    search_fields = ["slug", "name"]


class EnvironmentInline(admin.TabularInline):
    model = Environment
    extra = 0
    fields = ["slug", "name", "created_at"]


class MembershipInline(admin.TabularInline):
    model = ProjectMembership
    extra = 0
    fields = ["user", "role", "created_at"]
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [EnvironmentInline, MembershipInline]


@admin.register(ProjectMembership)
class ProjectMembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__slug"]
    autocomplete_fields = ["user"]
from secrets_app import admin_service_accounts  # noqa: E402,F401  (registers ServiceAccountAdmin)
