from django.apps import AppConfig


class MessagesAppConfig(AppConfig):
    name = "messages_app"
    default_auto_field = "django.db.models.BigAutoField"
