import pytest

pytestmark = pytest.mark.django_db


def test_openapi_schema_and_swagger_are_served_without_a_cdn(client):
    schema = client.get("/agent/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    docs = client.get("/agent/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn.jsdelivr" not in html and "unpkg" not in html



def test_api_responses_are_never_cached_but_the_schema_may_be(client):
    api = client.get("/agent/v1/threads/")  # refused, and still not cacheable
    assert "no-store" in api["Cache-Control"]
    assert "no-store" not in client.get("/agent/v1/schema/").get("Cache-Control", "")


def test_deploy_check_warns_without_a_shared_store(settings):
    from platos.checks import shared_store_for_several_processes

    settings.REDIS_URL = ""
    assert [w.id for w in shared_store_for_several_processes(None)] == ["platos.W020"]
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert shared_store_for_several_processes(None) == []
