"""Admin for provider keys: created, rotated, disabled, enabled, revoked and made the default here,
through the same services as the API (so the same validation and the same audit rows).

The secret is a write-only form field (a password input that never renders a value);
the ProviderKey row shows metadata only. Its variable (kind "provider key") is made
by ``provider_key_create`` and is managed only through this lifecycle.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from platos.core.admin import object_for_post_action
from secrets_app import services
from secrets_app.admin_age import ProviderKeyRotationFilter, provider_key_age
from secrets_app.models import ProviderKey

SECRET_INPUT = "secret"  # noqa: S105 - a form field name, not a password
LABEL_HELP = "Unique in its environment. The runtime reads the key as “provider_key:” followed by this label."


def _secret_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: stored encrypted and never shown again.",
    )


class ProviderKeyAddForm(forms.ModelForm):
    secret = _secret_field("Secret (API key)")

    class Meta:
        model = ProviderKey
        fields = ["environment", "provider", "label"]
        help_texts = {"label": LABEL_HELP}

    @method_decorator(sensitive_variables("secret"))
    def clean(self):
        cleaned = super().clean()
        provider, secret = cleaned.get("provider"), cleaned.get(SECRET_INPUT)
        if provider and secret:
            try:
                services.validate_provider_secret(provider=provider, secret=secret)
            except ValidationError as exc:
                self.add_error(SECRET_INPUT, exc.message_dict.get("secret", exc.messages))
        return cleaned


class RotateForm(forms.Form):
    secret = _secret_field("New secret")


# The lifecycle operations on the change page: (service, message once done).
LIFECYCLE = {
    "disable": (services.provider_key_disable, "disabled"),
    "enable": (services.provider_key_enable, "enabled"),
    "revoke": (services.provider_key_revoke, "revoked: its secret is destroyed"),
    "set-default": (services.provider_key_set_default, "is now the default"),
}


@admin.register(ProviderKey)
class ProviderKeyAdmin(admin.ModelAdmin):
    """Metadata only. Add and every lifecycle step call the services."""

    list_display = ["label", "provider", "environment", "status", "is_default", provider_key_age, "last_used_at",
                    "created_at"]
    list_filter = ["provider", "status", "is_default", ProviderKeyRotationFilter, "environment__project"]
    search_fields = ["label"]
    date_hierarchy = "created_at"
    list_select_related = ["environment__project"]
    # label and variable as display methods: the model's help text ("provider_key:<label>") is for
    # the add form, where LABEL_HELP says it as text.
    readonly_fields = ["environment", "provider", "label_text", "variable", "is_default", "status",
                       "last_used_at", "rotated_at", "created_at", "created_by"]
    actions = ["disable", "enable", "revoke"]
    change_form_template = "admin/secrets_app/providerkey/change_form.html"

    @admin.display(description="label (read as provider_key:LABEL)")
    def label_text(self, obj) -> str:
        return obj.label

    @admin.display(description="variable holding the secret")
    def variable(self, obj) -> str:
        return obj.env_var_name

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ProviderKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["environment", "provider", "label", SECRET_INPUT] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row and its audit trail stay

    @method_decorator(sensitive_post_parameters(SECRET_INPUT))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "rotate_form": RotateForm()}
        return super().changeform_view(request, object_id, form_url, extra_context)

    @method_decorator(sensitive_variables("secret"))
    def save_model(self, request, obj, form, change):
        if change:
            return  # every field is read-only; changes are lifecycle steps
        data = form.cleaned_data
        try:
            key = services.provider_key_create(environment=data["environment"], provider=data["provider"],
                                               label=data["label"], secret=data[SECRET_INPUT],
                                               actor=request.user, request=request)
        except ValidationError as exc:  # e.g. a label taken meanwhile: say so, never a 500
            raise PermissionDenied("; ".join(exc.messages)) from None
        obj.pk, obj.env_var_name, obj.is_default = key.pk, key.env_var_name, key.is_default

    # --- lifecycle on the change page -------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:key_id>/rotate/", view(self.rotate_view), name="secrets_app_providerkey_rotate"),
            path("<int:key_id>/lifecycle/<slug:op>/", view(self.lifecycle_view),
                 name="secrets_app_providerkey_lifecycle"),
            *super().get_urls(),
        ]

    def _key_for_change(self, request, key_id) -> ProviderKey:
        return object_for_post_action(self, request, ProviderKey.objects.select_related("environment__project"), key_id)

    def _back(self, key) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:secrets_app_providerkey_change", args=[key.pk]))

    @method_decorator(sensitive_post_parameters(SECRET_INPUT))
    @method_decorator(sensitive_variables("secret"))
    def rotate_view(self, request, key_id):
        key = self._key_for_change(request, key_id)
        form = RotateForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Rotate: enter the new secret.", messages.ERROR)
            return self._back(key)
        try:
            services.provider_key_rotate(key=key, secret=form.cleaned_data[SECRET_INPUT], actor=request.user,
                                         request=request)
        except ValidationError as exc:
            self.message_user(request, f"{key.label} was not rotated: {'; '.join(exc.messages)}", messages.ERROR)
        else:
            self.message_user(request, f"{key.label} rotated: the new secret is stored, the old one is gone.")
        return self._back(key)

    def lifecycle_view(self, request, key_id, op):
        key = self._key_for_change(request, key_id)
        if op not in LIFECYCLE:
            raise Http404
        service, done = LIFECYCLE[op]
        try:
            service(key=key, actor=request.user, request=request)
        except ValidationError as exc:
            self.message_user(request, f"{key.label}: {'; '.join(exc.messages)}", messages.ERROR)
        else:
            self.message_user(request, f"{key.label} {done}.")
        return self._back(key)

    # --- bulk actions on the list -----------------------------------------------------
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
