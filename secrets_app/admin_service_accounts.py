"""Service accounts in the admin: created (without a token: the admin never shows one)
and disabled through the audited services. Tokens are minted by a project admin through
``POST /agent/v1/projects/{project}/service-accounts/{id}/tokens/`` or, for bootstrap,
``manage.py token_create --user sa+<project>+<name>``."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from secrets_app.models import Environment, ServiceAccount
from secrets_app.services import service_accounts as services


class ServiceAccountAddForm(forms.ModelForm):
    environments = forms.ModelMultipleChoiceField(queryset=Environment.objects.select_related("project"))

    class Meta:
        model = ServiceAccount
        fields = ["project", "name", "environments"]

    def clean(self):
        data = super().clean()
        project, environments = data.get("project"), data.get("environments") or []
        if project is not None and any(env.project_id != project.pk for env in environments):
            self.add_error("environments", "grant only environments of the account's project")
        return data


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "is_active", "user", "created_at")
    list_filter = ("is_active", "project")
    search_fields = ("name", "project__slug")
    date_hierarchy = "created_at"
    readonly_fields = ("project", "name", "environments", "user", "is_active", "created_at", "created_by")
    actions = ["disable_selected"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ServiceAccountAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_fields(self, request, obj=None):
        return ["project", "name", "environments"] if obj is None else list(self.readonly_fields)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # the list, not an edit form

    def has_delete_permission(self, request, obj=None):
        return False  # disable instead: the row and its audit history stay

    def save_model(self, request, obj, form, change):
        environments = form.cleaned_data["environments"]
        obj_saved, _, _ = services.service_account_create(
            project=obj.project, name=obj.name, environments=[env.slug for env in environments],
            actor=request.user, request=request, with_token=False)
        obj.pk, obj.user = obj_saved.pk, obj_saved.user
        messages.info(request, f"Mint its token: POST /agent/v1/projects/{obj.project.slug}/service-accounts/"
                               f"{obj.pk}/tokens/ (project admin) or manage.py token_create --user "
                               f"{obj.user.username}.")

    def save_related(self, request, form, formsets, change):
        pass  # the service granted the environments

    @admin.action(description="Disable the selected service accounts")
    def disable_selected(self, request, queryset):
        for account in queryset.select_related("project", "user"):
            services.service_account_disable(account=account, actor=request.user, request=request)
        self.message_user(request, f"Disabled {len(queryset)} service account(s).")
