"""OpenAPI descriptions of the entity authentication schemes (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class EntityBearerScheme(OpenApiAuthenticationExtension):
    target_class = "entities.auth.EntityBearerAuthentication"
    name = "entityBearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http", "scheme": "bearer",
            "description": "X-Platos-Entity: <entity id> and Authorization: Bearer <service secret>.",
        }


class EntitySignatureScheme(OpenApiAuthenticationExtension):
    target_class = "entities.auth.EntitySignatureAuthentication"
    name = "entitySignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "X-Platos-Signature",
            "description": (
                "X-Platos-Entity: <entity id>, X-Platos-Timestamp: <unix seconds>, X-Platos-Nonce: <16-128 "
                "of [A-Za-z0-9_-], once>, X-Platos-Signature: hex HMAC-SHA256 keyed with the service secret "
                "over '{timestamp}.{nonce}.{raw body}'. At most 300 s clock skew."
            ),
        }


class ApiTokenIdentityScheme(OpenApiAuthenticationExtension):
    """The API token on an entity endpoint is recognised only to answer 403 (it is not an
    entity credential): it adds no security requirement and no scheme to the schema."""

    target_class = "entities.auth.ApiTokenIdentity"
    name: list[str] = []  # a list of names, empty: nothing is registered

    def get_security_definition(self, auto_schema):
        return []

    def get_security_requirement(self, auto_schema):
        return None
