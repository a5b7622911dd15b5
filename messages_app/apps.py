from django.apps import AppConfig


class MessagesAppConfig(AppConfig):
    name = "messages_app"
    verbose_name = "Conversations"
    default_auto_field = "django.db.models.BigAutoField"
