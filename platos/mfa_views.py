"""The admin's TOTP pages: enrol (first login) and verify (every later login).

Devices are ``platos.mfa_device.EncryptedTOTPDevice`` (seed encrypted at rest). The
enrolment page is the only place a seed is ever shown, until its first code is confirmed.
"""

from __future__ import annotations

import django_otp
from django import forms
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from audit.models import AuditEvent
from audit.services import audit_record
from platos.mfa_device import EncryptedTOTPDevice


class CodeForm(forms.Form):
    code = forms.CharField(label="6-digit code", min_length=6, max_length=8,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "autofocus": True}))


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/admin/"
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                         require_https=request.is_secure())
    return target if ok else "/admin/"


def _render(request, template, context):
    response = TemplateResponse(request, template, {**admin.site.each_context(request), "next": _next(request),
                                                    **context})
    response["Cache-Control"] = "no-store"
    return response


@transaction.atomic
def _check(request, device: EncryptedTOTPDevice, code: str, *, enrol: bool) -> bool:
    # Locked for the check, as django_otp.verify_token does: two requests with the same
    # code cannot both see the old last_t, so a code is accepted once.
    device = EncryptedTOTPDevice.objects.select_for_update().get(pk=device.pk)
    if not device.verify_token(code):
        audit_record(action=AuditEvent.Action.ADMIN_MFA_FAILED, success=False, actor=request.user, request=request,
                     reason="enrol" if enrol else "verify")
        return False
    if enrol:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(action=AuditEvent.Action.ADMIN_MFA_ENROL, success=True, actor=request.user, request=request,
                     subject_type=AuditEvent.Subject.MFA_DEVICE, subject_id=str(device.pk))
    django_otp.login(request, device)
    return True


@never_cache
@sensitive_post_parameters("code")
@staff_member_required
def mfa_enrol(request):
    """Show the otpauth URI and secret of an unconfirmed device; one good code confirms it."""
    if django_otp.user_has_device(request.user):
        return redirect(f"/admin/mfa/verify/?next={_next(request)}")
    device = EncryptedTOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = EncryptedTOTPDevice.objects.create(user=request.user, name="authenticator app", confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _check(request, device, form.cleaned_data["code"], enrol=True):
            return redirect(_next(request))
        form.add_error("code", "That code is not valid. Check the app's clock and try the next code.")
    return _render(request, "admin/platos/mfa_enrol.html", {
        "title": "Set up two-factor authentication", "form": form, "otpauth_uri": device.config_url,
        "secret_b32": device.secret_b32,
    })


@never_cache
@sensitive_post_parameters("code")
@staff_member_required
def mfa_verify(request):
    device = EncryptedTOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    if device is None:
        return redirect(f"/admin/mfa/enrol/?next={_next(request)}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _check(request, device, form.cleaned_data["code"], enrol=False):
            return redirect(_next(request))
        form.add_error("code", "That code is not valid (or too many tries: wait a little).")
    return _render(request, "admin/platos/mfa_verify.html", {"title": "Two-factor authentication", "form": form})
