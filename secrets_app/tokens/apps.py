from django.apps import AppConfig


class TokensConfig(AppConfig):
    """API tokens (``plt_…``), stored as knox digests. Its own app label, so its
    migrations never interleave with ``secrets_app``'s."""

    name = "secrets_app.tokens"
    label = "tokens"
    verbose_name = "API tokens"

    def ready(self):
        from secrets_app.tokens import schema  # noqa: F401  (registers the OpenAPI auth scheme)
