"""No token string in any table, any log line (SQL at DEBUG included) or any admin page."""

import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from secrets_app.tokens.models import ApiToken
from secrets_app.tokens.services import token_create

pytestmark = pytest.mark.django_db
ANY_TOKEN_PART = re.compile(r"plt_[0-9a-f]{6}")


def tampered(token: str) -> str:
    """The same token with its last hex digit changed (always a different token)."""
    return token[:-1] + ("1" if token[-1] == "0" else "0")


def _every_table_text() -> str:
    qn = connection.ops.quote_name
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {qn(table)}")  # noqa: S608 (table names from introspection)
            chunks += [repr(row) for row in cursor.fetchall()]
    return "\n".join(chunks)


def test_raw_sql_over_every_table_finds_no_token():
    ada = get_user_model().objects.create_user("ada")
    client = APIClient()
    client.force_authenticate(ada)
    tokens = [client.post("/agent/v1/auth/tokens/", {"name": "api"}, format="json").json()["token"],
              token_create(user=ada, name="service")[1]]
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[0]}")
    assert bearer.get("/agent/v1/auth/tokens/").status_code == 200  # last_used_at written
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tampered(tokens[0])}")  # a failed try is audited
    assert bearer.get("/agent/v1/auth/tokens/").status_code == 401
    text = _every_table_text()
    assert ApiToken.objects.count() == 2 and "tokens_apitoken" in connection.introspection.table_names()
    for token in tokens:
        assert token not in text
        assert token[4:] not in text  # nor its random part
    assert "authtoken_token" not in connection.introspection.table_names()


def test_debug_sql_logging_during_authenticated_requests_holds_no_token(caplog, settings):
    settings.DEBUG = True
    ada = get_user_model().objects.create_user("ada")
    _, token = token_create(user=ada, name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True
    try:
        assert client.get("/agent/v1/auth/tokens/").status_code == 200
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tampered(token)}")
        assert client.get("/agent/v1/auth/tokens/").status_code == 401
    finally:
        connection.force_debug_cursor = False
    sql = [r for r in caplog.records if r.name == "django.db.backends"]
    assert any("tokens_apitoken" in r.getMessage() for r in sql)  # the lookup was logged...
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in logged and token[:15] not in logged  # ...with the token and its prefix redacted
    assert not ANY_TOKEN_PART.search(logged)


def test_admin_shows_metadata_never_the_token_or_digest():
    root = get_user_model().objects.create_superuser("root", "", "pw-root-123")
    row, token = token_create(user=root, name="laptop")
    client = Client()
    client.force_login(root)
    for url in ("/admin/tokens/apitoken/", f"/admin/tokens/apitoken/{row.pk}/change/"):
        page = client.get(url).content.decode()
        assert "laptop" in page and row.token_key in page
        assert token not in page and row.digest not in page
    assert client.get(f"/admin/tokens/apitoken/?digest={row.digest}").status_code in (302, 400)
    r = client.post("/admin/tokens/apitoken/", {"action": "revoke_selected", "_selected_action": [row.pk]})
    assert r.status_code == 302 and not ApiToken.objects.exists()
