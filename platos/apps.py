from django.apps import AppConfig


class PlatosConfig(AppConfig):
    name = "platos"
    verbose_name = "Platos core"

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
