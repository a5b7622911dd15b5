"""Service accounts in the admin: added and disabled through the audited services; no token on any page."""

import pytest

from audit.models import AuditEvent
from secrets_app.models import ServiceAccount
from secrets_app.services.service_accounts import service_account_create

pytestmark = pytest.mark.django_db
ADMIN = "/admin/secrets_app/serviceaccount/"


def test_add_and_disable_in_the_admin(client, world):
    client.force_login(world.root)
    resp = client.post(ADMIN + "add/", {"project": world.acme.pk, "name": "worker",
                                        "environments": [world.prod.pk]}, follow=True)
    assert resp.status_code == 200
    account = ServiceAccount.objects.get(name="worker")
    assert [e.slug for e in account.environments.all()] == ["production"] and account.user.username == "sa+acme+worker"
    assert "plt_" not in resp.content.decode()  # no token minted or shown here
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SERVICE_ACCOUNT_CREATE, actor="root").count() == 1
    # An environment of another project is refused by the form.
    bad = client.post(ADMIN + "add/", {"project": world.acme.pk, "name": "other", "environments": [world.beta_prod.pk]})
    assert bad.status_code == 200 and not ServiceAccount.objects.filter(name="other").exists()
    _, _, token = service_account_create(project=world.acme, name="second", environments=["staging"],
                                         actor=world.admin)
    second = ServiceAccount.objects.get(name="second")
    client.post(ADMIN, {"action": "disable_selected", "_selected_action": [second.pk]}, follow=True)
    second.refresh_from_db()
    assert not second.is_active and not second.user.is_active
    page = client.get(f"{ADMIN}{second.pk}/change/").content.decode()
    assert token not in page
