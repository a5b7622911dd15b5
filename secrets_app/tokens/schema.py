"""OpenAPI description of the API token scheme (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PlatosTokenScheme(OpenApiAuthenticationExtension):
    target_class = "secrets_app.tokens.auth.PlatosTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "Authorization: Bearer plt_<64 hex> (POST /agent/v1/auth/tokens/ or "
                               "manage.py token_create; shown once, expires)."}


class RuntimeTokenScheme(OpenApiAuthenticationExtension):
    target_class = "secrets_app.tokens.auth.RuntimeTokenAuthentication"
    name = "serviceAccountToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "Authorization: Bearer plt_<64 hex> of a service account (POST "
                               "/agent/v1/projects/{project}/service-accounts/…; shown once, expires). "
                               "Accepted by /agent/v1/runtime/ only."}
