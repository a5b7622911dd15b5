from django.apps import AppConfig


class SecretsAppConfig(AppConfig):
    name = "secrets_app"
    verbose_name = "Secrets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the built-in "provider_key" boundary before any read can happen.
        from secrets_app import checks  # noqa: F401  (registers the store's system checks)
        from secrets_app.services import readers  # noqa: F401
