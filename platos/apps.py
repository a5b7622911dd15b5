from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PlatosConfig(AppConfig):
    name = "platos"
    verbose_name = "Keys"

    def ready(self) -> None:
        from django.core.signals import request_started
        from django.db.models.signals import post_migrate

        from platos import (
            checks,  # noqa: F401  (registers the system checks)
            mfa,
        )
        from platos.rotation import canary

        # The key canary (see platos/rotation/canary.py): written/verified after
        # migrate, verified by the first request of each web process.
        post_migrate.connect(canary.on_post_migrate, sender=self, dispatch_uid="platos.key_canary")
        request_started.connect(canary.on_first_request, dispatch_uid="platos.key_canary_request")
        mfa.connect_signals()  # admin login / logout / failed login audit rows


class PlatosAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the Platos site as ``admin.site`` (see platos/admin_site.py)."""

    default = False  # "platos" itself is PlatosConfig; this one is named in INSTALLED_APPS
    default_site = "platos.admin_site.PlatosAdminSite"
