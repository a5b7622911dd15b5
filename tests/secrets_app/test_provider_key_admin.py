"""Provider keys in the admin: the whole lifecycle through the services, the secret write-only."""

import pytest

from audit.models import AuditEvent
from secrets_app.models import EnvironmentVariable, ProviderKey

from .conftest import ANTHROPIC_KEY, OPENAI_KEY, OPENAI_KEY_2

pytestmark = pytest.mark.django_db
BASE = "/admin/secrets_app/providerkey/"


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.root)
    return client


def add(admin_client, world, label="main", secret=OPENAI_KEY, provider="openai"):
    return admin_client.post(BASE + "add/", {"environment": world.prod.pk, "provider": provider, "label": label,
                                             "secret": secret})


def test_add_creates_the_key_and_its_variable_through_the_service(admin_client, world, raw_column):
    page = admin_client.get(BASE + "add/").content.decode()
    assert 'type="password"' in page and 'name="secret"' in page
    assert "provider_key:<label>" not in page and "provider_key:” followed by this label" in page
    r = add(admin_client, world)
    assert r.status_code == 302, r.content.decode()[:2000]
    key = ProviderKey.objects.get(label="main")
    assert key.is_default and key.status == "active" and key.created_by == world.root
    var = EnvironmentVariable.objects.get(environment=world.prod, name=key.env_var_name)
    assert var.kind == "provider_key" and var.value == OPENAI_KEY
    assert OPENAI_KEY not in raw_column(EnvironmentVariable, "value", var.pk)
    [row] = AuditEvent.objects.filter(action="provider_key.create")
    assert (row.actor, row.key, row.scope) == ("root", key.env_var_name, "acme/production")  # as from the API
    change = admin_client.get(f"{BASE}{key.pk}/change/").content.decode()
    assert OPENAI_KEY not in change and "Rotate" in change and "Revoke" in change
    assert "provider_key:<label>" not in change and key.env_var_name in change  # no help text as a tag


def test_add_refuses_another_providers_key_without_echoing_it(admin_client, world):
    r = add(admin_client, world, secret=ANTHROPIC_KEY)
    html = r.content.decode()
    assert r.status_code == 200 and "an Anthropic key" in html and ANTHROPIC_KEY not in html
    assert not ProviderKey.objects.exists()


def test_rotate_disable_enable_set_default_revoke_from_the_change_page(admin_client, world):
    add(admin_client, world)
    add(admin_client, world, label="backup", secret=OPENAI_KEY_2)
    main, backup = ProviderKey.objects.get(label="main"), ProviderKey.objects.get(label="backup")
    assert admin_client.get(f"{BASE}{backup.pk}/lifecycle/disable/").status_code == 404  # POST only
    r = admin_client.post(f"{BASE}{main.pk}/rotate/", {"secret": "sk-proj-THIRDvalue00112233445566"})
    assert r.status_code == 302
    var = EnvironmentVariable.objects.get(name=main.env_var_name)
    assert var.value == "sk-proj-THIRDvalue00112233445566" and var.version == 2
    assert admin_client.post(f"{BASE}{backup.pk}/lifecycle/set-default/").status_code == 302
    main.refresh_from_db()
    backup.refresh_from_db()
    assert backup.is_default and not main.is_default
    admin_client.post(f"{BASE}{main.pk}/lifecycle/disable/")
    assert ProviderKey.objects.get(pk=main.pk).status == "disabled"
    admin_client.post(f"{BASE}{main.pk}/lifecycle/enable/")
    assert ProviderKey.objects.get(pk=main.pk).status == "active"
    admin_client.post(f"{BASE}{main.pk}/lifecycle/revoke/")
    assert ProviderKey.objects.get(pk=main.pk).status == "revoked"
    assert EnvironmentVariable.objects.get(name=main.env_var_name).value is None
    r = admin_client.post(f"{BASE}{main.pk}/rotate/", {"secret": OPENAI_KEY}, follow=True)
    assert "was not rotated" in r.content.decode() and OPENAI_KEY not in r.content.decode()
    actions = list(AuditEvent.objects.filter(action__startswith="provider_key.").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["provider_key.create", "provider_key.create", "provider_key.rotate",
                       "provider_key.set_default", "provider_key.disable", "provider_key.enable",
                       "provider_key.revoke"]
    assert admin_client.post(f"{BASE}{main.pk}/lifecycle/explode/").status_code == 404


def test_a_user_without_change_permission_cannot_run_the_lifecycle(client, world):
    from django.contrib.auth.models import Permission

    add_client = client
    add_client.force_login(world.root)
    add(add_client, world)
    key = ProviderKey.objects.get()
    world.member.is_staff = True
    world.member.save()
    world.member.user_permissions.set(Permission.objects.filter(codename="view_providerkey"))
    client.force_login(world.member)
    assert client.post(f"{BASE}{key.pk}/lifecycle/revoke/").status_code == 403
    assert client.get(BASE + "add/").status_code == 403
    assert ProviderKey.objects.get().status == "active"


def test_variable_form_does_not_offer_the_provider_key_kind(admin_client, world):
    page = admin_client.get("/admin/secrets_app/environmentvariable/add/").content.decode()
    assert 'value="provider_key"' not in page and "Provider keys" in page
    assert "Leave empty to keep" not in page  # nothing to keep on a new variable
    r = admin_client.post("/admin/secrets_app/environmentvariable/add/", {
        "environment": world.prod.pk, "name": "SNEAKY", "kind": "provider_key", "new_value": "x-value-123456"})
    assert r.status_code == 200 and not EnvironmentVariable.objects.filter(name="SNEAKY").exists()


def test_environments_section_lists_variables_inline_without_values(admin_client, world):
    from secrets_app.services import env_var_create

    var = env_var_create(environment=world.prod, name="TOOL_TOKEN", value="zq-inline-secret-42", kind="tool",
                         actor=world.root)
    assert admin_client.get("/admin/secrets_app/environment/").status_code == 200
    html = admin_client.get(f"/admin/secrets_app/environment/{world.prod.pk}/change/").content.decode()
    assert "TOOL_TOKEN" in html and "version 1" in html and "zq-inline-secret-42" not in html
    assert f"/admin/secrets_app/environmentvariable/{var.pk}/change/" in html
    change = admin_client.get(f"/admin/secrets_app/environmentvariable/{var.pk}/change/").content.decode()
    assert "Leave empty to keep it" in change


def test_a_variable_reads_as_its_name_and_scope(world):
    from secrets_app.services import env_var_create

    var = env_var_create(environment=world.prod, name="TOOL_TOKEN", value="zq-str-secret-42", actor=world.root)
    assert str(var) == "TOOL_TOKEN in acme/production"
