"""Admin pages of .env import (paste or upload, preview, confirm) and export (reason, download).

Both call the API's services (``env_vars_import`` / ``env_vars_export``), so the audit
rows are the same: one ``secret.write`` per imported variable, one ``secret.export``
naming the exported ones. Both need the project's admin role, as the API does.

The preview never renders a value: it shows the dry run's report (names and line
numbers). The text to import waits for the confirm in the user's session, sealed under
ENCRYPTION_KEY (context ``secrets_app.env-import``) with a random token that the confirm
form posts back; it is taken out of the session on confirm and expires after 10 minutes.
"""

from __future__ import annotations

import json
import secrets
import time

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from platos.core.envelope import DecryptionError, decrypt, encrypt
from secrets_app import services
from secrets_app.boundaries import BoundaryError
from secrets_app.models import Environment
from secrets_app.scopes import WRITE_ROLE, project_list_for_user, user_has_role
from secrets_app.services.dotenv_io import ON_CONFLICT

PENDING = "platos.env_import"  # session key of the import waiting for its confirm
CONTEXT = "secrets_app.env-import"
PENDING_TTL = 600  # seconds
MAX_UPLOAD = 2 * 1024 * 1024


def _environments(user):
    return Environment.objects.select_related("project").filter(
        project__in=project_list_for_user(user=user, role=WRITE_ROLE))


class EnvImportForm(forms.Form):
    environment = forms.ModelChoiceField(queryset=Environment.objects.none())
    dotenv = forms.CharField(label=".env text", required=False, strip=False,
                             widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "autocomplete": "off",
                                                          "spellcheck": "false"}))
    upload = forms.FileField(label="or upload a .env file", required=False)
    on_conflict = forms.ChoiceField(choices=[(c, c) for c in ON_CONFLICT], initial="fail",
                                    help_text="fail: an existing name refuses the whole import; skip: keep "
                                    "existing values; overwrite: write a new version")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environment"].queryset = _environments(user)

    @method_decorator(sensitive_variables("text"))
    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("upload"), cleaned.get("dotenv") or ""
        if upload and text:
            raise ValidationError("Paste the text or upload a file, not both.")
        if upload:
            if upload.size > MAX_UPLOAD:
                raise ValidationError(f"The file is larger than {MAX_UPLOAD // 1024} KiB.")
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError("The file is not UTF-8 text.") from None
        if not text.strip():
            raise ValidationError("Paste .env text or upload a file.")
        cleaned["text"] = text
        return cleaned


class EnvExportForm(forms.Form):
    environment = forms.ModelChoiceField(queryset=Environment.objects.none())
    reason = forms.CharField(max_length=200, help_text="Why the values are exported (audited).")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environment"].queryset = _environments(user)


@sensitive_variables("text")
def _park(request, *, environment: Environment, text: str, on_conflict: str) -> str:
    token = secrets.token_urlsafe(24)
    payload = json.dumps({"text": text, "user": str(request.user.pk), "environment": environment.pk,
                          "on_conflict": on_conflict, "at": time.time(), "token": token})
    request.session[PENDING] = encrypt(payload, keyring="encryption", context=CONTEXT)
    return token


def _take(request, token: str) -> dict | None:
    """The parked import for ``token`` (removed from the session), or None if gone, stale or not this one."""
    blob = request.session.pop(PENDING, None)
    if not blob:
        return None
    try:
        data = json.loads(decrypt(blob, keyring="encryption", context=CONTEXT))
    except (DecryptionError, ValueError):
        return None
    if not (secrets.compare_digest(data["token"], token or "") and data["user"] == str(request.user.pk)):
        return None
    if time.time() - data["at"] > PENDING_TTL:
        return None
    return data


class DotenvAdminMixin:
    """Adds ``import/`` and ``export/`` pages and the "Export .env" action to the env var admin."""

    change_list_template = "admin/secrets_app/env_var_change_list.html"
    actions = ["export_dotenv"]

    def get_urls(self):
        info = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        return [
            path("import/", self.admin_site.admin_view(self.env_import_view), name=f"{info}_import"),
            path("export/", self.admin_site.admin_view(self.env_export_view), name=f"{info}_export"),
            *super().get_urls(),
        ]

    def _require(self, request, environment: Environment | None = None) -> None:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        if environment is not None and not user_has_role(user=request.user, project_id=environment.project_id,
                                                          role=WRITE_ROLE):
            raise PermissionDenied

    def _page(self, request, template, **context):
        return TemplateResponse(request, template, {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "changelist_url": reverse("admin:secrets_app_environmentvariable_changelist"), **context,
        })

    @method_decorator(sensitive_post_parameters("dotenv", "upload"))
    @method_decorator(sensitive_variables("text", "data"))
    def env_import_view(self, request):
        self._require(request)
        if request.method == "POST" and "confirm" in request.POST:
            return self._env_import_confirm(request)
        form = EnvImportForm(request.POST or None, request.FILES or None, user=request.user)
        report = refused = token = None
        if request.method == "POST" and form.is_valid():
            env, text = form.cleaned_data["environment"], form.cleaned_data["text"]
            on_conflict = form.cleaned_data["on_conflict"]
            self._require(request, env)
            try:
                report = services.env_vars_import(environment=env, dotenv=text, on_conflict=on_conflict,
                                                  dry_run=True, actor=request.user, request=request)
            except services.ImportRefused as exc:
                report, refused = exc.report, str(exc)
            if refused is None and (report["created"] or report["updated"]):
                token = _park(request, environment=env, text=text, on_conflict=on_conflict)
            form = EnvImportForm(initial={"environment": env, "on_conflict": on_conflict}, user=request.user)
            preview = {"environment": env, "on_conflict": on_conflict}
        else:
            preview = None
        return self._page(request, "admin/secrets_app/env_import.html", title="Import a .env file", form=form,
                          report=report, refused=refused, token=token, preview=preview)

    def _env_import_confirm(self, request):
        data = _take(request, request.POST.get("token", ""))
        if data is None:
            self.message_user(request, "That preview has expired or was already used; preview again.",
                              messages.ERROR)
            return HttpResponseRedirect(request.path)
        env = Environment.objects.select_related("project").get(pk=data["environment"])
        self._require(request, env)
        try:
            report = services.env_vars_import(environment=env, dotenv=data["text"],
                                              on_conflict=data["on_conflict"], actor=request.user,
                                              request=request)
        except (services.ImportRefused, ValidationError) as exc:
            self.message_user(request, f"Nothing was imported: {'; '.join(getattr(exc, 'messages', [str(exc)]))}",
                              messages.ERROR)
            return HttpResponseRedirect(request.path)
        self.message_user(request, f"Imported into {env.scope}: created {len(report['created'])}, updated "
                          f"{len(report['updated'])}, skipped {len(report['skipped'])}.", messages.SUCCESS)
        url = reverse("admin:secrets_app_environmentvariable_changelist")
        return HttpResponseRedirect(f"{url}?environment__id__exact={env.pk}")

    @method_decorator(sensitive_variables("text"))
    def env_export_view(self, request):
        self._require(request)
        initial = {}
        if request.method == "GET" and request.GET.get("environment", "").isdigit():
            initial["environment"] = int(request.GET["environment"])
        form = EnvExportForm(request.POST or None, initial=initial, user=request.user)
        if request.method == "POST" and form.is_valid():
            env = form.cleaned_data["environment"]
            self._require(request, env)
            try:
                text = services.env_vars_export(environment=env, reason=form.cleaned_data["reason"],
                                                actor=request.user, request=request)
            except (ValidationError, BoundaryError) as exc:
                form.add_error(None, "; ".join(getattr(exc, "messages", [str(exc)])))
            else:
                response = HttpResponse(text, content_type="text/plain; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="{env.project.slug}-{env.slug}.env"'
                response["Cache-Control"] = "no-store"
                response["Pragma"] = "no-cache"
                return response
        return self._page(request, "admin/secrets_app/env_export.html", title="Export a .env file", form=form)

    @admin.action(description="Export the selected variables' environment as .env (asks for a reason)")
    def export_dotenv(self, request, queryset):
        environments = set(queryset.values_list("environment_id", flat=True))
        if len(environments) != 1:
            self.message_user(request, "Select variables of one environment: an export is per environment.",
                              messages.ERROR)
            return None
        url = reverse("admin:secrets_app_environmentvariable_export")
        return HttpResponseRedirect(f"{url}?environment={environments.pop()}")
