"""Fixtures of the admin-login tests (MFA on, a superuser), shared by the MFA and TOTP-at-rest tests."""

import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def mfa_on(settings):
    settings.PLATOS_REQUIRE_ADMIN_MFA = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def root():
    return get_user_model().objects.create_superuser("root", "", "pw-root-123")
