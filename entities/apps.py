from django.apps import AppConfig


class EntitiesConfig(AppConfig):
    name = "entities"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from entities import schema  # noqa: F401  (registers the OpenAPI auth schemes)
