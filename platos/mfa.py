"""Admin login hardening: TOTP second factor (django-otp), lockout (django-axes), audit rows.

With ``PLATOS_REQUIRE_ADMIN_MFA`` on, a superuser or a project admin who has logged in
with a password reaches nothing in the admin (and nothing in the API through the
session) until the session is OTP-verified: without a confirmed TOTP device they are
sent to the enrolment page (the otpauth URI and the base32 secret, then one code to
confirm), with one to the verification page. django-otp throttles wrong codes per
device; django-axes locks a username+IP pair out after repeated wrong passwords.
"""

from __future__ import annotations

from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib.auth import signals as auth_signals
from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_record, client_ip
from secrets_app.models import ProjectMembership

_OPEN_PATHS = ("/admin/login/", "/admin/logout/", "/admin/mfa/", "/admin/jsi18n/")


def mfa_required_for(user) -> bool:
    """Superusers and project admins need a second factor (when the setting is on)."""
    if not (settings.PLATOS_REQUIRE_ADMIN_MFA and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return ProjectMembership.objects.filter(user=user, role=ProjectMembership.Role.ADMIN).exists()


class AdminMfaMiddleware:
    """After ``OTPMiddleware``: holds an unverified admin session at the MFA pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        guarded = path.startswith("/admin/") and not path.startswith(_OPEN_PATHS)
        api = path.startswith("/agent/v1/")
        if (guarded or api) and settings.PLATOS_REQUIRE_ADMIN_MFA:
            user = request.user  # the session's user (API tokens are seen later, by DRF)
            if user.is_authenticated and not user.is_verified() and mfa_required_for(user):
                if api:
                    return JsonResponse({"detail": "Complete the admin's two-factor login first, "
                                                   "or use an API token.", "code": "mfa_required"}, status=403)
                target = "mfa-verify" if django_otp.user_has_device(user) else "mfa-enrol"
                return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def _is_admin_request(request) -> bool:
    return request is not None and getattr(request, "path", "").startswith("/admin/")


def on_logged_in(sender, request, user, **kwargs):
    if _is_admin_request(request):
        audit_record(action=AuditEvent.Action.ADMIN_LOGIN, success=True, actor=user, request=request,
                     extra={"mfa_required": mfa_required_for(user)})


def on_logged_out(sender, request, user, **kwargs):
    if _is_admin_request(request) and user is not None:
        audit_record(action=AuditEvent.Action.ADMIN_LOGOUT, success=True, actor=user, request=request)


def _username(credentials) -> str:
    return str((credentials or {}).get("username", ""))[:150]


def on_login_failed(sender, credentials, request=None, **kwargs):
    if not _is_admin_request(request):
        return
    username = _username(credentials)
    if getattr(request, "axes_locked_out", False):
        # Locked out: one row per username+IP and lockout window, not one per attempt.
        marker = f"platos:admin-lockout-audited:{username}:{client_ip(request.META)}"
        if cache.add(marker, 1, timeout=int(settings.AXES_COOLOFF_TIME * 3600) or 3600):
            audit_record(action=AuditEvent.Action.ADMIN_LOCKED_OUT, success=False, actor="anonymous", key=username,
                         reason="locked_out", request=request,
                         extra={"failure_limit": settings.AXES_FAILURE_LIMIT})
        return
    audit_record(action=AuditEvent.Action.ADMIN_LOGIN_FAILED, success=False, actor="anonymous", key=username,
                 reason="bad_credentials", request=request)


def axes_client_ip(request) -> str:
    """django-axes uses the audit log's rule for the client address (PLATOS_TRUSTED_PROXIES)."""
    return client_ip(request.META) or ""


def connect_signals() -> None:
    auth_signals.user_logged_in.connect(on_logged_in, dispatch_uid="platos.admin_login")
    auth_signals.user_logged_out.connect(on_logged_out, dispatch_uid="platos.admin_logout")
    auth_signals.user_login_failed.connect(on_login_failed, dispatch_uid="platos.admin_login_failed")
