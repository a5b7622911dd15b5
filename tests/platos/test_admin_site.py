"""The Platos admin site: branding, section names and order, every registration on it."""

import pytest
from django.contrib import admin

from platos.admin_site import PlatosAdminSite

pytestmark = pytest.mark.django_db


def test_admin_site_is_the_platos_site():
    assert isinstance(admin.site._wrapped if hasattr(admin.site, "_wrapped") else admin.site, PlatosAdminSite)
    from secrets_app.models import EnvironmentVariable

    assert admin.site.is_registered(EnvironmentVariable)


def test_index_shows_platos_branding_and_sections_in_order(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "Platos governance" in html
    assert "Django administration" not in html
    names = ["Secrets", "Connected entities", "Conversations", "Audit", "Keys"]
    positions = [html.index(f">{name}<") for name in names]
    assert positions == sorted(positions)
    for raw in ("SECRETS_APP", "MESSAGES_APP", "Secrets_App", "Platos core"):
        assert raw not in html


def test_breadcrumbs_use_the_section_name(admin_client):
    html = admin_client.get("/admin/secrets_app/environmentvariable/").content.decode()
    assert ">Secrets</a>" in html
    assert "Secrets_app" not in html and "Secrets_App" not in html
