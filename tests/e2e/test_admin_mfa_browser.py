"""Admin TOTP in a real browser: enrol, log in with a code, lockout after repeated failures."""

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from platos.mfa_device import EncryptedTOTPDevice
from tests.e2e.test_reveal_browser import browser_page  # noqa: F401  (the shared Chromium fixture)
from tests.platos.test_admin_mfa import code_for


def _login(page, base, password):
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_enrol_totp_log_in_with_a_code_then_lock_out(live_server, settings, browser_page):  # noqa: F811
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain http to the live server
    settings.PLATOS_REQUIRE_ADMIN_MFA = True
    settings.AXES_FAILURE_LIMIT = 3
    root = get_user_model().objects.create_superuser("root", "", "e2e-root-password")
    page, base = browser_page, live_server.url

    _login(page, base, "e2e-root-password")
    page.wait_for_url("**/admin/mfa/enrol/**")
    assert page.text_content("#otpauth-uri").startswith("otpauth://totp/")
    device = EncryptedTOTPDevice.objects.get(user=root, confirmed=False)
    assert page.text_content("#otp-secret").strip()  # what a person types into the app
    page.fill("#id_code", code_for(device))
    page.click("#mfa-submit")
    page.wait_for_url(f"{base}/admin/")
    assert "Dashboard | Platos governance" in page.content()
    page.click("#logout-form button")
    page.wait_for_load_state()

    _login(page, base, "e2e-root-password")
    page.wait_for_url("**/admin/mfa/verify/**")
    page.fill("#id_code", code_for(device, steps_ahead=1))  # the enrolment code is spent
    page.click("#mfa-submit")
    page.wait_for_url(f"{base}/admin/")
    assert "Dashboard | Platos governance" in page.content()
    page.click("#logout-form button")
    page.wait_for_load_state()

    for _ in range(3):
        _login(page, base, "not-the-password")
    assert page.is_visible("#locked-out")
    _login(page, base, "e2e-root-password")  # the right password does not help while locked out
    assert page.is_visible("#locked-out")
    assert AuditEvent.objects.filter(action="admin.login", actor="root").count() == 2
    assert AuditEvent.objects.filter(action="admin.login.locked_out", key="root").count() == 1
    assert AuditEvent.objects.filter(action="admin.mfa.enrol", actor="root").count() == 1
