from django.apps import AppConfig


class EntitiesConfig(AppConfig):
    name = "entities"
    verbose_name = "Connected entities"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from entities import schema  # noqa: F401  (registers the OpenAPI auth schemes)
        from entities.boundary import read_entity_secret
        from secrets_app.boundaries import register

        # SecretsService.read(key="entity:<slug>", ...): the audited runtime read.
        register("entity", read_entity_secret)
