import pytest
from django.contrib.admin.sites import site

from audit.models import AuditEvent
from secrets_app.admin import EnvironmentVariableAdmin
from secrets_app.models import EnvironmentVariable, ProviderKey
from secrets_app.services import env_var_create, provider_key_create

from .conftest import OPENAI_KEY, SECRET

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/secrets_app/environmentvariable/"


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.root)
    return client


def test_add_and_change_go_through_the_services_and_never_render_the_value(admin_client, world, raw_column):
    r = admin_client.post(CHANGELIST + "add/", {"environment": world.prod.pk, "name": "TOOL_TOKEN", "kind": "tool",
                                                "new_value": SECRET})
    assert r.status_code == 302, r.content.decode()[:2000]
    var = EnvironmentVariable.objects.get(name="TOOL_TOKEN")
    assert var.value == SECRET and SECRET not in raw_column(EnvironmentVariable, "value", var.pk)
    html = admin_client.get(f"{CHANGELIST}{var.pk}/change/").content.decode()
    assert 'type="password"' in html and SECRET not in html and var.value not in html
    # Saving without a new value keeps the old one; with a new one, replaces it. Both audited.
    r = admin_client.post(f"{CHANGELIST}{var.pk}/change/", {"kind": "skill", "new_value": ""})
    assert r.status_code == 302
    var.refresh_from_db()
    assert (var.value, var.kind, var.version) == (SECRET, "skill", 2)
    admin_client.post(f"{CHANGELIST}{var.pk}/change/", {"kind": "skill", "new_value": "replacement-value-77"})
    var.refresh_from_db()
    assert (var.value, var.version) == ("replacement-value-77", 3)
    rows = AuditEvent.objects.filter(action="secret.write").order_by("id")
    assert [(r.actor, r.key) for r in rows] == [("root", "TOOL_TOKEN")] * 3
    listing = admin_client.get(CHANGELIST).content.decode()
    assert "TOOL_TOKEN" in listing and "(set)" in listing and "replacement-value-77" not in listing
    # The admin's own history (LogEntry) names fields only.
    history = admin_client.get(f"{CHANGELIST}{var.pk}/history/").content.decode()
    assert "replacement-value-77" not in history and SECRET not in history


def test_add_without_a_value_is_refused(admin_client, world):
    r = admin_client.post(CHANGELIST + "add/", {"environment": world.prod.pk, "name": "EMPTY", "kind": "plain",
                                                "new_value": ""})
    assert r.status_code == 200 and not EnvironmentVariable.objects.exists()


def test_value_is_not_filterable_or_searchable(admin_client, world, rf):
    env_var_create(environment=world.prod, name="TOOL_TOKEN", value=SECRET, actor=world.admin)
    model_admin = EnvironmentVariableAdmin(EnvironmentVariable, site)
    assert not model_admin.lookup_allowed("value", SECRET, rf.get("/"))
    assert not model_admin.lookup_allowed("value__isnull", "1", rf.get("/"))
    assert "value" not in model_admin.search_fields
    assert admin_client.get(CHANGELIST, {"value": SECRET}).status_code == 400
    assert admin_client.get(CHANGELIST, {"value__isnull": "0"}).status_code == 400
    r = admin_client.get(CHANGELIST, {"q": SECRET})  # search runs on names only
    assert r.status_code == 200 and "0 environment variables" in r.content.decode()


def test_change_form_posts_are_marked_sensitive(admin_client, world):
    env_var_create(environment=world.prod, name="TOOL_TOKEN", value=SECRET, actor=world.admin)
    var = EnvironmentVariable.objects.get()
    response = admin_client.post(f"{CHANGELIST}{var.pk}/change/", {"kind": "tool", "new_value": "another-val-99"})
    assert list(response.wsgi_request.sensitive_post_parameters) == ["new_value"]


def test_provider_key_admin_shows_metadata_only_and_its_variable_is_locked(admin_client, world):
    key = provider_key_create(environment=world.prod, provider="openai", label="main", secret=OPENAI_KEY,
                              actor=world.admin)
    listing = admin_client.get("/admin/secrets_app/providerkey/").content.decode()
    assert "main" in listing and OPENAI_KEY not in listing
    change = admin_client.get(f"/admin/secrets_app/providerkey/{key.pk}/change/").content.decode()
    assert OPENAI_KEY not in change
    var = EnvironmentVariable.objects.get(name=key.env_var_name)
    page = admin_client.get(f"{CHANGELIST}{var.pk}/change/").content.decode()
    assert OPENAI_KEY not in page and 'name="new_value"' not in page  # read-only view
    r = admin_client.post(f"{CHANGELIST}{var.pk}/change/", {"kind": "plain", "new_value": "sk-proj-hijack00000000"})
    assert r.status_code == 403
    r = admin_client.post("/admin/secrets_app/providerkey/", {"action": "disable", "_selected_action": [key.pk]})
    assert r.status_code == 302 and ProviderKey.objects.get(pk=key.pk).status == "disabled"
    assert AuditEvent.objects.filter(action="provider_key.disable", actor="root").count() == 1


def test_bad_values_and_undecryptable_rows_are_form_errors_not_500s(admin_client, world):
    from django.db import connection

    too_long = "x" * (64 * 1024 + 1)
    r = admin_client.post(CHANGELIST + "add/", {"environment": world.prod.pk, "name": "BIG", "kind": "tool",
                                                "new_value": too_long})
    assert r.status_code == 200 and "longer than" in r.content.decode()
    assert too_long not in r.content.decode()
    var = env_var_create(environment=world.prod, name="LOST", value=SECRET, kind="tool", actor=world.root)
    with connection.cursor() as cur:  # as if the key it was written under were gone
        cur.execute("UPDATE secrets_app_environmentvariable SET value = %s WHERE id = %s",
                    ["pv1:000000000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", var.pk])
    r = admin_client.post(f"{CHANGELIST}{var.pk}/change/", {"kind": "skill", "new_value": ""})
    assert r.status_code == 200 and "cannot be decrypted; set a new value" in r.content.decode()
    r = admin_client.post(f"{CHANGELIST}{var.pk}/change/", {"kind": "skill", "new_value": "fresh-value-123"})
    assert r.status_code == 302
    var.refresh_from_db()
    assert var.value == "fresh-value-123"
