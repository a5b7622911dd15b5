from django.apps import AppConfig


class SecretsAppConfig(AppConfig):
    name = "secrets_app"
    verbose_name = "Secrets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the built-in "provider_key" boundary before any read can happen.
        from audit.services import register_project_resolver
        from secrets_app import checks  # noqa: F401  (registers the store's system checks)
        from secrets_app.scopes import project_id_for_slug
        from secrets_app.services import readers  # noqa: F401

        # Audit rows name their project by id too; the audit log (below us) asks the store for it.
        register_project_resolver(project_id_for_slug)
