"""The one base class of domain errors, and the two refusals every app shares.

Services, selectors and the crypto core raise these; ``platos.api.exception_handler``
is the only place that turns them into HTTP responses (``status_code`` and a body
``{"detail": public_detail(), "code": code, **public_extra()}``). Views never build
error bodies. Stdlib only, so the envelope module can derive from it.

Messages are written for the person calling the API: they name keys, scopes and
key ids, never a secret value or plaintext.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """A domain error the API answers with a clear 4xx JSON error instead of a 500."""

    status_code = 400
    code = "error"

    def public_detail(self) -> str:
        """The ``detail`` of the response body (the exception's message unless a subclass hides it)."""
        return str(self)

    def public_extra(self) -> dict:
        """More keys of the response body; none by default."""
        return {}


class NotFound(ApplicationError):
    """What was asked for does not exist for this caller (it may exist for someone else)."""

    status_code = 404
    code = "not_found"


class Refused(ApplicationError):
    """The caller is known but may not do this."""

    status_code = 403
    code = "permission_denied"
