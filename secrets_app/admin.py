"""Admin: every secret write goes through the services (so it is audited); values are
write-only, masked in lists and can be neither filtered nor searched."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from platos.core.fields import Undecryptable
from secrets_app import (
    admin_users,  # noqa: F401  (registers the audited UserAdmin)
    provider_key_admin,  # noqa: F401  (registers ProviderKeyAdmin)
    services,
)
from secrets_app.admin_age import (
    VariableRotationFilter,
    variable_key_age,
)
from secrets_app.admin_audit import AuditedAdminMixin
from secrets_app.admin_dotenv import DotenvAdminMixin
from secrets_app.admin_versions import version_history_html
from secrets_app.models import Environment, EnvironmentVariable, Project, ProjectMembership, ProviderKey, Skill

SECRET_INPUT = "new_value"  # noqa: S105 - a form field name, not a password
ADD_HELP = "Write-only: stored encrypted and never shown again."
CHANGE_HELP = "Write-only: the current value is never shown. Leave empty to keep it; type a new one to replace it."
KIND_HELP = ("Provider API keys are not made here: add them under Secrets → Provider keys, which stores "
             "the key as a variable of kind “provider key” and manages it (rotate, disable, revoke).")


def version_label(variable) -> str:
    return f"version {variable.version}"


class EnvironmentVariableForm(forms.ModelForm):
    """The value is a non-model field: the form never reads, renders or assigns the stored value."""

    new_value = forms.CharField(
        label="Value",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=ADD_HELP,
    )

    class Meta:
        model = EnvironmentVariable
        fields = ["environment", "name", "kind"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields[SECRET_INPUT].help_text = CHANGE_HELP
        if "kind" in self.fields and self.instance.kind != EnvironmentVariable.Kind.PROVIDER_KEY:
            # One drives the other: a "provider key" variable exists only beside its ProviderKey row.
            kind = self.fields["kind"]
            kind.choices = [c for c in kind.choices if c[0] != EnvironmentVariable.Kind.PROVIDER_KEY]
            kind.help_text = KIND_HELP

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
            stored = EnvironmentVariable.objects.only("value", *EnvironmentVariable.row_identity).get(
                pk=self.instance.pk).value
            if isinstance(stored, Undecryptable):
                self.add_error(SECRET_INPUT, "The stored value cannot be decrypted; set a new value.")
        return cleaned


@admin.register(EnvironmentVariable)
class EnvironmentVariableAdmin(DotenvAdminMixin, admin.ModelAdmin):
    form = EnvironmentVariableForm
    list_display = ["name", "environment", "kind", "masked_value", variable_key_age, "version_label", "updated_at",
                    "updated_by"]
    list_filter = ["kind", VariableRotationFilter, "environment__project"]
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

    @admin.display(description="version", ordering="version")
    def version_label(self, obj) -> str:
        return version_label(obj)

    def lookup_allowed(self, lookup, value, request=None):
        if lookup.split("__")[0] == "value":
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_fields(self, request, obj=None):
        return ["environment", "name", "kind", SECRET_INPUT, *(["history"] if obj is not None else [])]

    def get_readonly_fields(self, request, obj=None):
        return ["environment", "name", "history"] if obj is not None else []

    @admin.display(description="history")
    def history(self, obj) -> str:
        return version_history_html(obj)

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


class VariableInline(admin.TabularInline):
    """An environment's variables: names and metadata, never a value. Edited on their own pages."""

    model = EnvironmentVariable
    extra = 0
    fields = ["name", "kind", "set", "version_text", "updated_at", "updated_by"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "variables (values are write-only; open one to change it)"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("value").select_related("updated_by").annotate(
            has_value=ExpressionWrapper(Q(value__isnull=False), output_field=BooleanField()))

    @admin.display(description="value")
    def set(self, obj) -> str:
        return "•••••••• (set)" if getattr(obj, "has_value", False) else "— (no value)"

    @admin.display(description="version")
    def version_text(self, obj) -> str:
        return version_label(obj)

    def has_add_permission(self, request, obj=None):
        return False  # a new variable needs its value: "Add environment variable" does that

    def has_delete_permission(self, request, obj=None):
        return False  # delete goes through env_var_delete on the variable's page (audited)


@admin.register(Environment)
class EnvironmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["scope", "name", "project", "created_at"]
    list_filter = ["project"]
    search_fields = ["slug", "name", "project__slug"]
    list_select_related = ["project"]
    fields = ["project", "slug", "name", "created_at"]
    inlines = [VariableInline]

    @admin.display(description="scope", ordering="project__slug")
    def scope(self, obj) -> str:
        return obj.scope

    def get_readonly_fields(self, request, obj=None):
        return ["project", "slug", "created_at"] if obj is not None else ["created_at"]


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
    # created_at decides which rows of an earlier project of the same slug (audit rows from
    # before project_id) belong to this one: it is a fact, not an editable field.
    readonly_fields = ["created_at"]
    inlines = [EnvironmentInline, MembershipInline]


@admin.register(ProjectMembership)
class ProjectMembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__slug"]
    autocomplete_fields = ["user"]
from secrets_app import admin_service_accounts  # noqa: E402,F401  (registers ServiceAccountAdmin)
