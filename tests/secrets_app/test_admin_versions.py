"""Admin: the variable's page shows its history (metadata only); rollback and destroy actions."""

import pytest

from audit.models import AuditEvent
from secrets_app.models import EnvironmentVariableVersion
from secrets_app.services import env_var_create, env_var_update

from .conftest import SECRET

pytestmark = pytest.mark.django_db
VERSIONS = "/admin/secrets_app/environmentvariableversion/"


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.root)
    return client


def test_history_rollback_and_destroy_in_the_admin(admin_client, world):
    var = env_var_create(environment=world.prod, name="TOOL_TOKEN", value=SECRET, actor=world.admin)
    env_var_update(variable=var, value="second-value-5555", actor=world.admin)
    html = admin_client.get(f"/admin/secrets_app/environmentvariable/{var.pk}/change/").content.decode()
    assert "<td>v1</td>" in html and SECRET not in html and "second-value-5555" not in html
    listing = admin_client.get(VERSIONS).content.decode()
    assert "TOOL_TOKEN" in listing and SECRET not in listing
    row = EnvironmentVariableVersion.objects.get(variable=var, version=1)
    r = admin_client.post(VERSIONS, {"action": "rollback", "_selected_action": [row.pk]})
    assert r.status_code == 302
    var.refresh_from_db()
    assert (var.value, var.version) == (SECRET, 3)
    assert AuditEvent.objects.filter(action="secret.rollback", actor="root").count() == 1
    r = admin_client.post(VERSIONS, {"action": "destroy", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert r.status_code == 302 and row.value is None and row.destroyed_at is not None
    assert admin_client.get(f"{VERSIONS}{row.pk}/change/").status_code == 200
