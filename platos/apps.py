from django.apps import AppConfig


class PlatosConfig(AppConfig):
    name = "platos"
    verbose_name = "Platos core"

    def ready(self) -> None:
        from platos import checks  # noqa: F401  (registers the system checks)
