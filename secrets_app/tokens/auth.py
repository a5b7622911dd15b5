"""``Authorization: Bearer plt_…``: the DRF authentication class for API tokens.

It engages only on the ``plt_`` prefix, so the entity scheme (``Bearer <64 hex>``
with ``X-Platos-Entity``) and this one never take each other's requests. Lookup,
hashing and the constant-time compare are knox's. Failures are audited one row
each while the client IP is under its failure limit; over it the client gets 429
and one aggregated ``auth.throttled`` row (secrets_app/throttles.py).
"""

from __future__ import annotations

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions

from secrets_app.throttles import auth_failure_count, auth_failures_check
from secrets_app.tokens import services

SCHEME = "Bearer"
PREFIX = "plt_"
GENERIC_FAILURE = "Invalid or expired API token."
SERVICE_ACCOUNT_REFUSED = "A service account's token is accepted only by /agent/v1/runtime/."


def is_service_account(user) -> bool:
    """Whether ``user`` backs a service account (a machine identity, secrets_app.models)."""
    return getattr(user, "is_authenticated", False) and hasattr(user, "service_account")


class PlatosTokenAuthentication(KnoxTokenAuthentication):
    """``request.user`` is the token's owner, ``request.auth`` the ``ApiToken`` row.

    A service account's token is refused here with 403: every endpoint that uses the
    default authentication is a human one. The runtime API uses
    :class:`RuntimeTokenAuthentication`, which lets them through.
    """

    allow_service_accounts = False

    @sensitive_variables("header", "presented")
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith(f"{SCHEME} {PREFIX}"):
            return None  # someone else's credential (an entity's Bearer secret, a session)
        django_request = request._request  # request.user here would recurse into authentication
        auth_failures_check(request=django_request)
        presented = header[len(SCHEME) + 1:].strip()
        self._expired = False
        try:
            if " " in presented:
                raise exceptions.AuthenticationFailed(GENERIC_FAILURE)
            user, token = self.authenticate_credentials(presented.encode())
        except exceptions.AuthenticationFailed as failure:
            reason = "expired" if self._expired else (
                "inactive_user" if "inactive" in str(failure.detail) else "invalid_token")
            auth_failure_count(request=django_request)
            services.token_auth_failed(reason=reason, presented=presented, request=django_request)
            raise exceptions.AuthenticationFailed(GENERIC_FAILURE) from None
        if not self.allow_service_accounts and is_service_account(user):
            raise exceptions.PermissionDenied(SERVICE_ACCOUNT_REFUSED)
        services.token_touch(token=token)
        return user, token

    def _cleanup_token(self, auth_token) -> bool:
        """knox deletes expired tokens here; ours stay listed (with their past expiry)
        until revoked, and simply do not authenticate."""
        expired = auth_token.expiry is not None and auth_token.expiry < timezone.now()
        self._expired = self._expired or expired
        return expired

    def authenticate_header(self, request) -> str:
        return f'{SCHEME} realm="platos"'


class RuntimeTokenAuthentication(PlatosTokenAuthentication):
    """The runtime API's authentication: the same tokens, service accounts' included
    (the runtime's permission then refuses everyone else)."""

    allow_service_accounts = True
