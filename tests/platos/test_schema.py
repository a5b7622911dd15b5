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

