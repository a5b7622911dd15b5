"""Admin .env import (paste/upload, preview, confirm) and export (reason, download) through the
test client: the same services and audit rows as the API, and no value in the preview HTML."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from secrets_app.admin_dotenv import PENDING
from secrets_app.models import EnvironmentVariable
from secrets_app.services import env_var_create

from .conftest import SECRET

pytestmark = pytest.mark.django_db
IMPORT = "/admin/secrets_app/environmentvariable/import/"
EXPORT = "/admin/secrets_app/environmentvariable/export/"
CHANGELIST = "/admin/secrets_app/environmentvariable/"
VALUES = ["quoted value # not a comment", "line1\nline2", "unicodé-ünïcode-9q8w7e"]
DOTENV = (
    "# a comment\n"
    f'export FIRST_VAR="{VALUES[0]}"\n'
    'MULTI_LINE="line1\\nline2"\n'
    f"EXISTING={SECRET}\n"
    f"UNI='{VALUES[2]}'\n"
    "9BAD=never-shown-value-7777\n"
)


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin)  # ada: the acme project's admin role, not a superuser
    world.admin.is_staff = True
    world.admin.save()
    from django.contrib.auth.models import Permission
    world.admin.user_permissions.add(*Permission.objects.filter(codename__in=[
        "add_environmentvariable", "change_environmentvariable", "view_environmentvariable"]))
    return client


def test_preview_shows_names_and_lines_never_values_then_confirm_imports(admin_client, world):
    env_var_create(environment=world.prod, name="EXISTING", value="old-value-4444", actor=world.admin)
    assert "Import .env" in admin_client.get(CHANGELIST).content.decode()
    r = admin_client.post(IMPORT, {"environment": world.prod.pk, "dotenv": DOTENV, "on_conflict": "overwrite",
                                   "preview": "Preview"})
    html = r.content.decode()
    assert r.status_code == 200 and "Confirm the import" in html
    assert "FIRST_VAR, MULTI_LINE, UNI" in html and '<td id="preview-updated">EXISTING</td>' in html
    assert "<td>6</td><td>9BAD</td>" in html  # the invalid entry, by line and name
    for value in [*VALUES, SECRET, "line1", "never-shown-value-7777", "old-value-4444"]:
        assert value not in html
    assert SECRET not in str(admin_client.session[PENDING])  # parked sealed, not in clear
    assert not EnvironmentVariable.objects.filter(name="FIRST_VAR").exists()  # a preview writes nothing
    assert not AuditEvent.objects.filter(action="secret.write", key="FIRST_VAR").exists()

    token = html.split('name="token" value="')[1].split('"')[0]
    r = admin_client.post(IMPORT, {"token": token, "confirm": "Confirm"})
    assert r.status_code == 302
    got = {v.name: v.value for v in EnvironmentVariable.objects.filter(environment=world.prod)}
    assert got == {"FIRST_VAR": VALUES[0], "MULTI_LINE": VALUES[1], "EXISTING": SECRET, "UNI": VALUES[2]}
    rows = AuditEvent.objects.filter(action="secret.write", actor="ada", scope="acme/production")
    assert sorted(rows.values_list("key", flat=True)) == ["EXISTING", "EXISTING", "FIRST_VAR", "MULTI_LINE", "UNI"]
    # The token is single use.
    r = admin_client.post(IMPORT, {"token": token, "confirm": "Confirm"}, follow=True)
    assert "expired or was already used" in r.content.decode()
    assert EnvironmentVariable.objects.get(name="EXISTING").version == 2


def test_upload_with_fail_refuses_and_offers_no_confirm(admin_client, world):
    env_var_create(environment=world.prod, name="EXISTING", value="old-value-4444", actor=world.admin)
    upload = SimpleUploadedFile("prod.env", DOTENV.encode())
    html = admin_client.post(IMPORT, {"environment": world.prod.pk, "upload": upload, "on_conflict": "fail",
                                      "preview": "Preview"}).content.decode()
    assert "nothing was imported" in html and "Confirm the import" not in html
    assert "already exists (on_conflict=fail)" in html and SECRET not in html and VALUES[0] not in html
    assert PENDING not in admin_client.session


def test_another_projects_environment_is_not_offered_or_accepted(admin_client, world):
    r = admin_client.post(IMPORT, {"environment": world.beta_prod.pk, "dotenv": "A_VAR=x\n",
                                   "on_conflict": "fail", "preview": "Preview"})
    assert "Select a valid choice" in r.content.decode()
    assert not EnvironmentVariable.objects.filter(name="A_VAR").exists()


def test_export_asks_a_reason_and_downloads_audited(admin_client, world):
    env_var_create(environment=world.prod, name="TOOL_TOKEN", value=SECRET, actor=world.admin)
    var = EnvironmentVariable.objects.get(name="TOOL_TOKEN")
    r = admin_client.post(CHANGELIST, {"action": "export_dotenv", "_selected_action": [var.pk]})
    assert r.status_code == 302 and r["Location"] == f"{EXPORT}?environment={world.prod.pk}"
    page = admin_client.get(r["Location"]).content.decode()
    assert "reason" in page and SECRET not in page
    r = admin_client.post(EXPORT, {"environment": world.prod.pk, "reason": ""})
    assert r.status_code == 200 and "This field is required" in r.content.decode()
    assert not AuditEvent.objects.filter(action="secret.export").exists()
    r = admin_client.post(EXPORT, {"environment": world.prod.pk, "reason": "move to the new cluster"})
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    assert r["Content-Disposition"] == 'attachment; filename="acme-production.env"'
    assert r.content.decode() == f'TOOL_TOKEN="{SECRET}"\n'
    row = AuditEvent.objects.get(action="secret.export")
    assert (row.actor, row.scope, row.reason) == ("ada", "acme/production", "move to the new cluster")
    assert row.extra["variables"] == ["TOOL_TOKEN"]
