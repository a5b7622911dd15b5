from django.apps import AppConfig


class SecretsAppConfig(AppConfig):
    name = "secrets_app"
    default_auto_field = "django.db.models.BigAutoField"
