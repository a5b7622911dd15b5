import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from entities.models import ConnectedEntity

pytestmark = pytest.mark.django_db

BASE = "/agent/v1/projects/acme/environments/production/entities/"
NEW = {"slug": "crm", "display_name": "CRM", "base_url": "https://crm.example.com"}


@pytest.fixture
def api(client, world):
    client.force_login(world.admin)
    return client


def test_create_returns_the_secret_once_and_never_again(api, world):
    r = api.post(BASE, NEW, content_type="application/json")
    assert r.status_code == 201
    data = r.json()
    secret = data["secret"]
    assert len(secret) == 64 and data["secret_prefix"] == secret[:8] and data["scope"] == "acme/production"
    assert "no-store" in r.headers["Cache-Control"]
    for later in (api.get(BASE), api.get(BASE + "crm/"),
                  api.patch(BASE + "crm/", {"display_name": "CRM 2"}, content_type="application/json"),
                  api.get("/agent/v1/schema/")):
        assert later.status_code == 200
        assert secret not in later.content.decode() and '"secret":' not in later.content.decode()
    r = api.post(BASE + "crm/regenerate-secret/", {"grace_seconds": 60}, content_type="application/json")
    assert r.status_code == 200 and r.json()["secret"] != secret and r.json()["previous_secret_valid_until"]
    new = r.json()["secret"]
    assert new not in api.get(BASE + "crm/").content.decode()
    assert ConnectedEntity.objects.get().service_secret == new


def test_create_validates_and_slug_is_unique_per_environment(api):
    assert api.post(BASE, {**NEW, "base_url": "not a url"}, content_type="application/json").status_code == 400
    assert api.post(BASE, {**NEW, "slug": "Bad Slug"}, content_type="application/json").status_code == 400
    assert api.post(BASE, NEW, content_type="application/json").status_code == 201
    assert api.post(BASE, NEW, content_type="application/json").status_code == 400
    assert ConnectedEntity.objects.count() == 1


def test_member_reads_but_cannot_write_and_outsider_sees_nothing(client, world, make_entity):
    make_entity()
    client.force_login(world.member)
    assert client.get(BASE).status_code == 200
    assert client.get(BASE + "crm/").status_code == 200
    assert client.post(BASE, {**NEW, "slug": "x"}, content_type="application/json").status_code == 403
    assert client.post(BASE + "crm/regenerate-secret/").status_code == 403
    assert client.post(BASE + "crm/disable/").status_code == 403
    client.force_login(world.outsider)
    assert client.get(BASE).status_code == 404
    assert client.get(BASE + "crm/").status_code == 404
    client.logout()
    assert client.get(BASE).status_code in (401, 403)


def test_disable_then_regenerate_is_refused(api):
    api.post(BASE, NEW, content_type="application/json")
    r = api.post(BASE + "crm/disable/")
    assert r.status_code == 200 and r.json()["status"] == "disabled"
    assert api.post(BASE + "crm/regenerate-secret/").status_code == 400
    assert AuditEvent.objects.filter(action="entity.disable", success=True).count() == 1


def test_grace_over_24h_is_refused(api):
    api.post(BASE, NEW, content_type="application/json")
    r = api.post(BASE + "crm/regenerate-secret/", {"grace_seconds": 86401}, content_type="application/json")
    assert r.status_code == 400


def test_list_query_count_is_constant(api, world, make_entity):
    for i in range(3):
        make_entity(f"e{i}")
    with CaptureQueriesContext(connection) as three:
        assert len(api.get(BASE).json()["results"]) == 3
    for i in range(3, 8):
        make_entity(f"e{i}")
    with CaptureQueriesContext(connection) as eight:
        assert len(api.get(BASE).json()["results"]) == 8
    assert len(three) == len(eight) <= 6


def test_paths_are_in_the_openapi_schema(api):
    paths = api.get("/agent/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    for p in ("/agent/v1/projects/{project}/environments/{environment}/entities/",
              "/agent/v1/projects/{project}/environments/{environment}/entities/{slug}/regenerate-secret/",
              "/agent/v1/entity/whoami", "/agent/v1/entity/heartbeat"):
        assert p in paths


@pytest.mark.parametrize("cursor", ["!!notbase64", "cj14", "cD1ub3RhZGF0ZQ=="])  # garbage; r=x; p=notadate
def test_a_forged_cursor_is_a_400_naming_it(api, make_entity, cursor):
    make_entity("crm")
    response = api.get(BASE, {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert response.json() == {"cursor": ["invalid cursor; use the next link as given"]}
