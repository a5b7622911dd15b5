"""platos.api.exception_handler: every domain error is mapped here, to a clear JSON 4xx."""

import pytest
from rest_framework.test import APIRequestFactory

from platos.api import ApplicationError, NotFound, Refused, exception_handler
from platos.core.envelope import DecryptionError
from secrets_app.boundaries import BoundaryError
from secrets_app.scopes import RoleRequired, ScopeNotFound


def _handle(exc):
    request = APIRequestFactory().get("/agent/v1/anything/")
    return exception_handler(exc, {"request": request, "view": None})


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (BoundaryError("revoked", "STRIPE_KEY in acme/prod is revoked"), 409,
         {"detail": "STRIPE_KEY in acme/prod is revoked", "code": "revoked"}),
        (ScopeNotFound("No such project/environment."), 404,
         {"detail": "No such project/environment.", "code": "not_found"}),
        (RoleRequired("This needs the admin role in project acme."), 403,
         {"detail": "This needs the admin role in project acme.", "code": "permission_denied"}),
        (Refused("no"), 403, {"detail": "no", "code": "permission_denied"}),
        (NotFound("gone"), 404, {"detail": "gone", "code": "not_found"}),
        (ApplicationError("bad"), 400, {"detail": "bad", "code": "error"}),
    ],
)
def test_domain_errors_map_to_their_status_and_body(exc, status, body):
    response = _handle(exc)
    assert (response.status_code, response.data) == (status, body)


def test_every_domain_error_shares_the_one_base():
    for cls in (BoundaryError, DecryptionError, ScopeNotFound, RoleRequired, Refused, NotFound):
        assert issubclass(cls, ApplicationError), cls


def test_a_decryption_error_shows_a_fixed_text_and_the_key_id_only(caplog):
    exc = DecryptionError("truncated", keyring="messages", context="messages_app.Message.content",
                          key_id="ab12cd34ef56")
    response = _handle(exc)
    assert response.status_code == 409
    assert response.data == {"detail": "The stored value could not be decrypted.", "code": "decryption_failed",
                              "key_id": "ab12cd34ef56"}
    assert "messages_app.Message.content" in caplog.text  # the operator's log names the place


def test_other_errors_still_go_through_drf():
    from django.core.exceptions import ValidationError

    response = _handle(ValidationError("Only an active message can be edited."))
    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Only an active message can be edited."]}
