"""The Platos admin site: its branding, its sections in a logical order, the dashboard as its index.

Installed through ``platos.apps.PlatosAdminConfig`` (``default_site``), so every
``@admin.register`` in the apps lands here and ``admin.site`` is this site. Kept
small on purpose: an MFA-enforcing site (django-otp's ``OTPAdminSite``) can become
its base class without touching anything else.
"""

from __future__ import annotations

from django.contrib import admin

# Sections (apps) in the order an operator works through them; anything not listed follows.
APP_ORDER = ["secrets_app", "entities", "messages_app", "audit", "platos", "auth"]
# Inside a section: the models in the same spirit (unlisted ones follow, by name).
MODEL_ORDER = {
    "secrets_app": ["Project", "Environment", "EnvironmentVariable", "ProviderKey", "Skill", "ProjectMembership"],
    "messages_app": ["Thread", "Message", "ToolCall", "SafetyEvent"],
    "platos": ["KeyCanary", "EncryptedTOTPDevice"],  # Keys, then the admins' TOTP devices
}


def _rank(order: list[str], name: str) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


class PlatosAdminSite(admin.AdminSite):
    site_header = "Platos governance"
    site_title = "Platos governance"
    index_title = "Dashboard"
    index_template = "admin/platos/dashboard.html"

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        apps.sort(key=lambda app: _rank(APP_ORDER, app["app_label"]))
        for app in apps:
            order = MODEL_ORDER.get(app["app_label"], [])
            app["models"].sort(key=lambda model: _rank(order, model["object_name"]))
        return apps

    def index(self, request, extra_context=None):
        from platos.dashboard import dashboard_context  # the operations layer reads every app

        return super().index(request, {**dashboard_context(user=request.user), **(extra_context or {})})
