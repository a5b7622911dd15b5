"""PostgreSQL (or the SQLite file) unreachable at request time: a 503 with Retry-After, never a 500.

The outage is real but ours only: for the duration of the request the default alias is
a connection to a port nobody listens on (PostgreSQL; 19299, this suite's own range) or
to a file that cannot be opened (SQLite). The shared server is never touched.
"""

from contextlib import contextmanager

import pytest
from django.db import connections
from django.db.utils import load_backend
from django.test import Client

pytestmark = pytest.mark.django_db


@contextmanager
def database_unreachable():
    original = connections["default"]
    broken = dict(original.settings_dict)
    if original.vendor == "postgresql":
        broken.update(HOST="127.0.0.1", PORT="19299", OPTIONS={**broken.get("OPTIONS", {}), "connect_timeout": 2})
    else:
        broken["NAME"] = "/nonexistent-platos-dir/db.sqlite3"
    wrapper = load_backend(broken["ENGINE"]).DatabaseWrapper(broken, "default")
    connections["default"] = wrapper
    try:
        yield
    finally:
        wrapper.close()
        connections["default"] = original


def test_api_answers_503_json_with_retry_after(world, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(world.admin)
    with database_unreachable():
        response = client.get("/agent/v1/projects/acme/environments/production/env-vars/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "10"
    assert response.json() == {
        "detail": "The database is unavailable; nothing was changed. Try again shortly.",
        "code": "database_unavailable",
    }
    assert "Traceback" not in caplog.text
    assert "database unavailable while serving" in caplog.text


def test_admin_answers_a_plain_503_page(world, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(world.root)
    with database_unreachable():
        response = client.get("/admin/")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "Service unavailable" in body and "Traceback" not in body and "Error" not in body
    # The database is back: the same page answers again.
    assert client.get("/admin/").status_code in (200, 302)


def test_other_server_errors_keep_django_s_plain_500(rf):
    from platos.api import server_error

    try:
        raise RuntimeError("not a database error")
    except RuntimeError:
        response = server_error(rf.get("/admin/"))
    assert response.status_code == 500
    assert not response.has_header("Retry-After")
