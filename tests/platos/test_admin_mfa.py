"""Admin login: TOTP required for superusers and project admins, lockout, audit rows."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import TOTP

from audit.models import AuditEvent
from platos.mfa_device import EncryptedTOTPDevice
from secrets_app.models import Project, ProjectMembership

pytestmark = pytest.mark.django_db


def code_for(device: EncryptedTOTPDevice, *, steps_ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def test_superuser_must_enrol_then_reaches_the_admin(mfa_on, root):
    client = Client()
    client.force_login(root)
    r = client.get("/admin/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/mfa/enrol/")
    assert client.get("/agent/v1/auth/tokens/").json()["code"] == "mfa_required"  # the session API too
    page = client.get("/admin/mfa/enrol/")
    assert "no-store" in page["Cache-Control"]
    device = EncryptedTOTPDevice.objects.get(user=root, confirmed=False)
    assert "otpauth://totp/" in page.content.decode()
    wrong = "000000" if code_for(device) != "000000" else "111111"
    assert client.post("/admin/mfa/enrol/", {"code": wrong}).status_code == 200
    assert AuditEvent.objects.filter(action="admin.mfa.failed", actor="root").count() == 1
    device.refresh_from_db()
    assert device.throttling_failure_count == 1 and not device.confirmed  # django-otp backs off
    EncryptedTOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)  # as after the wait
    r = client.post("/admin/mfa/enrol/", {"code": code_for(device), "next": "/admin/"})
    assert r.status_code == 302 and r["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.filter(action="admin.mfa.enrol", actor="root").count() == 1
    # A new session must verify with the device; the enrolment page no longer shows the secret.
    again = Client()
    again.force_login(root)
    assert again.get("/admin/")["Location"].startswith("/admin/mfa/verify/")
    assert again.get("/admin/mfa/enrol/")["Location"].startswith("/admin/mfa/verify/")
    assert again.post("/admin/mfa/verify/", {"code": code_for(device, steps_ahead=1)}).status_code == 302
    assert again.get("/admin/").status_code == 200


def test_project_admin_needs_mfa_plain_staff_does_not(mfa_on):
    users = get_user_model().objects
    project = Project.objects.create(slug="acme", name="Acme")
    padmin = users.create_user("pa", password="x", is_staff=True)
    ProjectMembership.objects.create(user=padmin, project=project, role="admin")
    staff = users.create_user("st", password="x", is_staff=True)
    for user, expect in ((padmin, 302), (staff, 200)):
        client = Client()
        client.force_login(user)
        assert client.get("/admin/").status_code == expect


def test_mfa_off_by_setting(settings, root):
    settings.PLATOS_REQUIRE_ADMIN_MFA = False
    client = Client()
    client.force_login(root)
    assert client.get("/admin/").status_code == 200


def test_login_logout_and_failures_are_audited_and_lock_out(mfa_on, root, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        r = client.post("/admin/login/", {"username": "root", "password": "wrong"})
        assert r.status_code == 200
    statuses = [client.post("/admin/login/", {"username": "root", "password": "wrong"}).status_code
                for _ in range(3)]
    assert statuses == [429, 429, 429]
    assert client.post("/admin/login/", {"username": "root", "password": "pw-root-123"}).status_code == 429
    assert AuditEvent.objects.filter(action="admin.login.failed", key="root").count() == 2
    assert AuditEvent.objects.filter(action="admin.login.locked_out", key="root").count() == 1
    assert not AuditEvent.objects.filter(action="admin.login").exists()
    other = Client(REMOTE_ADDR="10.0.0.9")  # the lockout is per username + address
    r = other.post("/admin/login/", {"username": "root", "password": "pw-root-123", "next": "/admin/"})
    assert r.status_code == 302
    assert AuditEvent.objects.filter(action="admin.login", actor="root").count() == 1
    other.post("/admin/logout/")
    assert AuditEvent.objects.filter(action="admin.logout", actor="root").count() == 1
    assert "pw-root-123" not in str(list(AuditEvent.objects.values()))


def test_membership_and_project_changes_in_the_admin_are_audited(root):
    client = Client()
    client.force_login(root)
    bob = get_user_model().objects.create_user("bob")
    r = client.post("/admin/secrets_app/project/add/", {
        "slug": "acme", "name": "Acme", "created_at_0": "2026-01-01", "created_at_1": "12:00:00",
        "environments-TOTAL_FORMS": "0", "environments-INITIAL_FORMS": "0",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    project = Project.objects.get(slug="acme")
    r = client.post("/admin/secrets_app/projectmembership/add/", {"user": bob.pk, "project": project.pk,
                                                                  "role": "admin", "created_at_0": "2026-01-01",
                                                                  "created_at_1": "12:00:00"})
    assert r.status_code == 302
    assert AuditEvent.objects.filter(action="project.change", scope="acme", reason="added").count() == 1
    row = AuditEvent.objects.get(action="membership.change")
    assert (row.actor, row.reason) == ("root", "added")
    assert (row.scope, row.project_id) == ("acme", project.pk)  # the project's admins read it
