"""GET /agent/v1/monitoring/admin-audit: who sees what, filters, pagination, CSV."""

import csv
import datetime as dt
import io
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from audit.api import AdminAuditListApi
from audit.csv_export import csv_cell
from audit.models import AuditEvent
from audit.selectors import audit_event_list_for_user
from platos.core.errors import Refused
from secrets_app.tokens.services import token_create
from tests.audit.conftest import T0
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
URL = "/agent/v1/monitoring/admin-audit"


@pytest.fixture
def log(record_at):
    """A small log over two projects and the system; returns ids newest first per label.

    The projects exist before their rows (rows name them by id, and a row older than
    its project belongs to an earlier project of that slug).
    """
    for slug in ("acme", "globex"):
        ProjectFactory(slug=slug, created_at=T0 - dt.timedelta(days=1))
    spec = [
        # (minutes after T0, action, actor, key, scope, success)
        (0, "secret.read", "alice", "OPENAI_API_KEY", "acme/prod", True),
        (1, "secret.read", "alice", "OPENAI_API_KEY", "acme/prod", False),
        (2, "secret.write", "bob", "STRIPE_KEY", "acme/staging", True),
        (3, "secret.read", "carol", "OPENAI_API_KEY", "globex/prod", True),
        (4, "provider_key.rotate", "alice", "ANTHROPIC_KEY", "acme/prod", True),
        (5, "keys.rotation.run", "system:rotate_message_key", "", "", True),
        (6, "secret.reveal", "bob", "STRIPE_KEY", "acme/prod", False),
    ]
    rows = {}
    for minutes, action, actor, key, scope, success in spec:
        row = record_at(T0 + dt.timedelta(minutes=minutes), action=action, actor=actor, key=key, scope=scope,
                        success=success)
        rows[minutes] = row.id
    return rows


def _client(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def _all_pages(client, url):
    ids, pages = [], 0
    while url:
        body = client.get(url).json()
        ids += [r["id"] for r in body["results"]]
        url, pages = body["next"], pages + 1
    return ids, pages


def test_superuser_sees_every_row_newest_first(log, make_user):
    root = make_user("root", superuser=True)
    assert _ids(_client(root).get(URL)) == [log[m] for m in (6, 5, 4, 3, 2, 1, 0)]


def test_project_admin_sees_only_their_projects(log, make_user):
    admin = make_user("ada", admin_of=["acme"])
    assert _ids(_client(admin).get(URL)) == [log[m] for m in (6, 4, 2, 1, 0)]


def test_admin_of_another_project_sees_none_of_these_rows(log, make_user):
    other = make_user("olga", admin_of=["initech"], member_of=["acme"])
    response = _client(other).get(URL)
    assert _ids(response) == []
    assert _ids(_client(other).get(URL, {"scope": "acme"})) == []


def test_plain_member_and_user_without_project_get_403(log, make_user):
    assert _client(make_user("mia", member_of=["acme"])).get(URL).status_code == 403
    assert _client(make_user("nobody")).get(URL).status_code == 403


def test_unauthenticated_gets_401_with_a_challenge(log):
    response = _client().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="platos"'


def test_token_authentication_works(log, make_user):
    _, token = token_create(user=make_user("ada", admin_of=["acme"]), name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert len(_ids(client.get(URL))) == 5


@pytest.mark.parametrize(("params", "minutes"), [
    ({"action": "secret.read"}, (3, 1, 0)),
    ({"actor": "alice"}, (4, 1, 0)),
    ({"key": "STRIPE_KEY"}, (6, 2)),
    ({"scope": "acme/prod"}, (6, 4, 1, 0)),
    ({"scope": "acme"}, (6, 4, 2, 1, 0)),
    ({"success": "false"}, (6, 1)),
    ({"success": "true", "actor": "alice"}, (4, 0)),
    ({"from": "2026-03-01T12:02:00Z"}, (6, 5, 4, 3, 2)),
    ({"to": "2026-03-01T12:02:00Z"}, (1, 0)),
    ({"from": "2026-03-01T13:01:00+01:00", "to": "2026-03-01T12:04:00Z"}, (3, 2, 1)),
    ({"action": "secret.read", "scope": "globex/prod", "success": "true"}, (3,)),
    ({"action": "no.such"}, ()),
])
def test_filters_return_exactly_the_expected_rows(log, make_user, params, minutes):
    root = make_user("root", superuser=True)
    assert _ids(_client(root).get(URL, params)) == [log[m] for m in minutes]


def test_cursor_pagination_walks_every_row_once(log, make_user):
    client = _client(make_user("root", superuser=True))
    ids, pages = _all_pages(client, f"{URL}?limit=2")
    assert ids == [log[m] for m in (6, 5, 4, 3, 2, 1, 0)] and pages == 4
    first = client.get(URL, {"limit": 2}).json()
    assert first["next"].startswith("http://testserver/agent/v1/monitoring/admin-audit?")
    assert set(first) == {"results", "next"}


def test_pagination_keeps_the_filters(log, make_user):
    client = _client(make_user("ada", admin_of=["acme"]))
    ids, _ = _all_pages(client, f"{URL}?limit=1&actor=alice")
    assert ids == [log[m] for m in (4, 1, 0)]


def test_rows_with_the_same_timestamp_are_neither_skipped_nor_repeated(record_at, make_user):
    ids = sorted(record_at(T0, key=f"K{i}").id for i in range(5))
    client = _client(make_user("root", superuser=True))
    assert _all_pages(client, f"{URL}?limit=2")[0] == ids[::-1]


def test_row_shape_has_no_value_field(log, make_user):
    row = _client(make_user("root", superuser=True)).get(URL, {"limit": 1}).json()["results"][0]
    assert set(row) == {
        "id", "ts", "action", "actor", "actor_user", "key", "scope", "project", "project_id", "subject_type",
        "subject_id", "success", "reason", "request_id", "client_ip", "user_agent", "extra", "prev_hash", "row_hash",
    }
    assert row["ts"] == "2026-03-01T12:06:00Z" and row["action"] == "secret.reveal"


@pytest.mark.parametrize(("params", "bad"), [
    ({"limit": "0"}, "limit"),
    ({"limit": "501"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-13-01"}, "to"),
    ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
    ({"success": "maybe"}, "success"),
    ({"format": "xml"}, "format"),
    ({"cursor": "!!notbase64"}, "cursor"),
    ({"cursor": "cD1ub3RhZGF0ZQ=="}, "cursor"),  # p=notadate
    ({"cursor": "cj14"}, "cursor"),  # r=x
    ({"cursor": "bz0tMQ=="}, "cursor"),  # o=-1
    ({"acter": "alice"}, "acter"),
])
def test_bad_parameters_get_a_400_naming_them(log, make_user, params, bad):
    response = _client(make_user("root", superuser=True)).get(URL, params)
    assert response.status_code == 400, response.content
    assert bad in response.json()


def test_an_outsider_gets_403_even_with_bad_parameters(log, make_user):
    assert _client(make_user("mia", member_of=["acme"])).get(URL, {"limit": "0"}).status_code == 403


def _csv(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("params", [{}, {"scope": "acme"}, {"success": "false"}, {"actor": "alice", "limit": "1"}])
def test_csv_and_json_agree(log, make_user, params):
    client = _client(make_user("ada", admin_of=["acme"]))
    query = "&".join(f"{k}={v}" for k, v in {"limit": "2", **params}.items())
    json_rows = []
    url = f"{URL}?{query}"
    while url:
        body = client.get(url).json()
        json_rows += body["results"]
        url = body["next"]
    csv_rows = _csv(client.get(URL, {**params, "format": "csv"}))
    assert len(csv_rows) == len(json_rows) > 0
    for from_csv, from_json in zip(csv_rows, json_rows, strict=True):
        assert from_csv == {name: csv_cell(value) for name, value in from_json.items()}
    assert [int(r["id"]) for r in csv_rows] == [r["id"] for r in json_rows]


def test_csv_of_an_outsider_is_403(log, make_user):
    assert _client(make_user("mia", member_of=["acme"])).get(URL, {"format": "csv"}).status_code == 403


def test_csv_cells_cannot_become_spreadsheet_formulas(record_at, make_user):
    record_at(T0, actor="=HYPERLINK(\"http://evil\")", key="-1+1", extra={"n": [1, 2]})
    rows = _csv(_client(make_user("root", superuser=True)).get(URL, {"format": "csv", "action": "secret.read"}))
    assert rows[0]["actor"] == "'=HYPERLINK(\"http://evil\")" and rows[0]["key"] == "'-1+1"
    assert json.loads(rows[0]["extra"]) == {"n": [1, 2]}


def test_query_count_does_not_grow_with_the_page(record_at, make_user, django_assert_num_queries):
    client = _client(make_user("ada", admin_of=["acme"]))  # the project first: its rows carry its id
    for i in range(30):
        record_at(T0 + dt.timedelta(seconds=i), scope="acme/prod", key=f"K{i}")
    with django_assert_num_queries(2):  # the user's projects, the page
        assert len(_ids(client.get(URL, {"limit": 25}))) == 25


def test_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/agent/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/agent/v1/monitoring/admin-audit"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"from", "to", "actor", "key", "scope", "project_id", "action", "success", "limit", "cursor",
                     "format"}
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {"400", "401", "403"} <= set(operation["responses"])


def test_audit_rows_are_not_written_by_reading_the_json_log(log, make_user):
    before = AuditEvent.objects.count()
    _client(make_user("root", superuser=True)).get(URL)
    assert AuditEvent.objects.count() == before


def test_csv_export_is_itself_audited(log, make_user):
    ada = make_user("ada", admin_of=["acme"])
    _csv(_client(ada).get(URL, {"format": "csv"}))
    row = AuditEvent.objects.get(action="audit.export")
    assert (row.actor, row.actor_user_id, row.extra) == ("ada", ada.id, {"via": "api"})


def test_the_project_rule_is_passed_in_and_asked_for_non_superusers_only(log, make_user):
    asked = []

    acme = ProjectFactory(slug="acme")

    def projects_for_user(user):
        asked.append(user.username)
        return [(acme.pk, acme.slug, acme.created_at)]

    assert audit_event_list_for_user(user=make_user("root", superuser=True), admin_projects=projects_for_user)
    assert asked == []
    rows = audit_event_list_for_user(user=make_user("mia"), admin_projects=projects_for_user)
    assert asked == ["mia"] and {r.project for r in rows} == {"acme"}
    with pytest.raises(Refused):
        audit_event_list_for_user(user=make_user("nobody"), admin_projects=lambda user: [])


def test_the_view_cannot_be_mounted_without_the_project_rule():
    with pytest.raises(ImproperlyConfigured):
        AdminAuditListApi.as_view()
