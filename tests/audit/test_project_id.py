"""Audit rows name their project by id as well as slug (issue 11, item 4).

A project deleted and re-created with the same slug is another project: its admin
does not see the old one's rows. ``project_id`` is in the hash chain for new rows;
rows from before the column (NULL) hash and verify as they always did.
"""

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from audit import chain, services
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify, audit_event_list_for_user
from audit.services import audit_record
from secrets_app import scopes
from secrets_app.boundaries import BoundaryError
from secrets_app.models import Environment, EnvironmentVariable, Project, ProjectMembership
from secrets_app.services import env_var_reveal_by_name
from secrets_app.services.env_vars import VariableNotFound
from secrets_app.services.readers import SecretsService
from secrets_app.services.service_accounts import runtime_var_read, service_account_create
from tests.audit.test_chain import _raw
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/agent/v1/monitoring/admin-audit"


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _api_ids(user, **params):
    response = _client(user).get(URL, params)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _project_with_admin(slug, admin):
    project = Project.objects.create(slug=slug, name=slug.title())
    env = Environment.objects.create(project=project, slug="production")
    ProjectMembership.objects.create(user=admin, project=project, role="admin")
    return project, env


def _delete(project):
    ProjectMembership.objects.filter(project=project).delete()
    EnvironmentVariable.objects.filter(environment__project=project).delete()
    Environment.objects.filter(project=project).delete()
    project.delete()


def test_every_scoped_row_carries_its_project_id(world):
    EnvironmentVariable.objects.create(environment=world.prod, name="DB_URL", value="v-db")
    SecretsService.read(key="DB_URL", scope=world.prod, actor=world.admin, purpose="test")
    for scope in ("acme/staging", "acme/nope"):  # a missing variable, an environment that does not exist
        with pytest.raises(BoundaryError):
            SecretsService.read(key="DB_URL", scope=scope, actor=world.admin, purpose="test")
    env_var_reveal_by_name(environment=world.prod, name="DB_URL", reason="check", actor=world.admin)
    with pytest.raises(VariableNotFound):  # audited as a failed reveal
        env_var_reveal_by_name(environment=world.prod, name="NOPE", reason="probe", actor=world.admin)
    account, _, _ = service_account_create(project=world.acme, name="worker", environments=["production"],
                                           actor=world.admin)
    runtime_var_read(account=account, environment=world.prod, name="DB_URL", purpose="run")
    scoped = AuditEvent.objects.exclude(scope="")
    assert scoped.count() >= 6
    assert set(scoped.values_list("project", "project_id")) == {("acme", world.acme.pk)}
    # No project scope, no project id; a scope naming no project has none either.
    assert audit_record(action="secret.read", success=True, actor="system:test").project_id is None
    assert audit_record(action="secret.read", success=False, actor="system:test", scope="ghost/x").project_id is None
    assert audit_record(action="secret.read", success=True, actor="system:test", scope="beta").project_id \
        == world.beta.pk


def test_callers_holding_the_project_do_not_ask_the_resolver(world, monkeypatch):
    """The audited read is a hot path: with an Environment in hand there is no lookup query."""
    asked = []
    monkeypatch.setattr(services, "_project_resolver", lambda slug: asked.append(slug) or None)
    EnvironmentVariable.objects.create(environment=world.prod, name="DB_URL", value="v-db")
    SecretsService.read(key="DB_URL", scope=world.prod, actor=world.admin, purpose="test")
    SecretsService.read(key="DB_URL", scope="acme/production", actor=world.admin, purpose="test")
    env_var_reveal_by_name(environment=world.prod, name="DB_URL", reason="check", actor=world.admin)
    assert asked == []
    assert set(AuditEvent.objects.values_list("project_id", flat=True)) == {world.acme.pk}
    audit_record(action="secret.read", success=True, actor="system:test", scope="acme/production")
    assert asked == ["acme"]  # a caller without the id: the resolver is asked, once


def test_the_store_registers_its_resolver_at_start_up(world):
    assert services._project_resolver is scopes.project_id_for_slug
    assert scopes.project_id_for_slug("acme") == world.acme.pk and scopes.project_id_for_slug("ghost") is None


def test_a_re_created_project_does_not_see_the_old_history():
    ada, bob = UserFactory(username="ada"), UserFactory(username="bob")
    old, old_env = _project_with_admin("acme", ada)
    EnvironmentVariable.objects.create(environment=old_env, name="DB_URL", value="v-old")
    SecretsService.read(key="DB_URL", scope=old_env, actor=ada, purpose="old")
    audit_record(action="secret.write", success=True, actor=ada, scope="acme/production", key="DB_URL")
    old_rows = set(AuditEvent.objects.values_list("id", flat=True))
    assert len(old_rows) == 2 and _api_ids(ada) == old_rows
    old_id = old.pk
    _delete(old)
    new, new_env = _project_with_admin("acme", bob)
    assert new.pk != old_id
    EnvironmentVariable.objects.create(environment=new_env, name="DB_URL", value="v-new")
    SecretsService.read(key="DB_URL", scope=new_env, actor=bob, purpose="new")
    new_rows = set(AuditEvent.objects.exclude(id__in=old_rows).values_list("id", flat=True))
    # Same slug, another project: bob sees only the new project's rows (API and selector) ...
    assert _api_ids(bob) == new_rows
    assert _api_ids(bob, scope="acme") == new_rows
    listed = audit_event_list_for_user(user=bob, admin_projects=scopes.admin_projects_for_user)
    assert set(listed.values_list("id", flat=True)) == new_rows
    assert set(AuditEvent.objects.filter(id__in=old_rows).values_list("project_id", flat=True)) == {old_id}
    # ... and the old rows are still there, for superusers.
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert old_rows | new_rows <= _api_ids(root, limit=500)


def test_rows_without_a_project_id_are_matched_by_slug_from_the_projects_creation_on():
    """Rows from before the column (NULL) belong to the current project of their slug only
    if written after it was created: an earlier project's stay hidden."""
    ada = UserFactory(username="ada")
    created = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    project = Project.objects.create(slug="acme", name="Acme", created_at=created)
    ProjectMembership.objects.create(user=ada, project=project, role="admin")
    ids = {}
    for label, when in (("before", created - dt.timedelta(days=1)), ("after", created + dt.timedelta(days=1))):
        row = audit_record(action="secret.read", success=True, actor="system:test", scope="acme/production",
                           project_id=None)  # as written before the column existed
        _raw("UPDATE audit_auditevent SET ts = %s WHERE id = %s", [when, row.id])
        ids[label] = row.id
    # (the re-dated rows no longer verify; only the visibility rule is tested here)
    assert _api_ids(ada) == {ids["after"]}


def test_the_api_and_the_csv_show_project_id_beside_the_slug(world):
    audit_record(action="secret.read", success=True, actor="system:test", scope="acme/production")
    audit_record(action="secret.read", success=True, actor="system:test", scope="beta/production")
    client = _client(world.root)
    rows = client.get(URL).json()["results"]
    assert {(r["project"], r["project_id"]) for r in rows} == {("acme", world.acme.pk), ("beta", world.beta.pk)}
    assert [r["project_id"] for r in client.get(URL, {"project_id": world.beta.pk}).json()["results"]] \
        == [world.beta.pk]
    assert client.get(URL, {"project_id": "x"}).status_code == 400
    response = client.get(URL, {"format": "csv"})
    text = b"".join(response.streaming_content).decode()
    header = text.splitlines()[0].split(",")
    assert header.index("project_id") == header.index("project") + 1 == header.index("scope") + 2
    got = {(r["project"], r["project_id"]) for r in csv.DictReader(io.StringIO(text)) if r["action"] == "secret.read"}
    assert got == {("acme", str(world.acme.pk)), ("beta", str(world.beta.pk))}


def test_the_admin_changelist_shows_and_filters_project_id(client, world):
    audit_record(action="secret.read", success=True, actor="system:test", scope="acme/production", key="ACME_K")
    audit_record(action="secret.read", success=True, actor="system:test", scope="beta/production", key="BETA_K")
    client.force_login(world.root)
    html = client.get("/admin/audit/auditevent/").content.decode()
    assert "project id" in html and 'class="field-project_id_text"' in html
    filtered = client.get("/admin/audit/auditevent/", {"project_id": world.beta.pk}).content.decode()
    assert "BETA_K" in filtered and "ACME_K" not in filtered
    for junk in ("abc", "١٢", "9" * 30):  # not an id: no rows, not a 500
        page = client.get("/admin/audit/auditevent/", {"project_id": junk})
        assert page.status_code == 200 and "BETA_K" not in page.content.decode()


# --- the hash chain -------------------------------------------------------------------


def test_a_null_project_id_hashes_as_rows_did_before_the_column():
    values = {name: "" for name in chain.HASHED_FIELDS} | {"ts": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                                                           "success": True, "extra": {}}
    assert chain.row_hash(values | {"project_id": None}, "0" * 64) == chain.row_hash(values, "0" * 64)
    assert chain.row_hash(values | {"project_id": 7}, "0" * 64) != chain.row_hash(values, "0" * 64)


def test_the_chain_verifies_with_old_null_rows_and_new_rows(world, capsys):
    for i in range(3):  # as before the column: no project id
        audit_record(action="secret.read", success=True, actor="system:test", scope="acme/production",
                     key=f"OLD{i}", project_id=None)
    for i in range(3):
        audit_record(action="secret.read", success=True, actor="system:test", scope="acme/production",
                     key=f"NEW{i}")
    assert list(AuditEvent.objects.order_by("id").values_list("project_id", flat=True)) == [None] * 3 + [
        world.acme.pk] * 3
    assert audit_chain_verify(batch_size=2).ok
    call_command("verify_audit_chain", batch_size=2)
    assert "audit chain intact: 6 rows" in capsys.readouterr().out


@pytest.mark.parametrize(("label", "new_value"), [("changed", "other"), ("cleared", None)])
def test_tampering_with_a_new_rows_project_id_breaks_the_chain(world, label, new_value):
    rows = [audit_record(action="secret.read", success=True, actor="system:test", scope="acme/production",
                         key=f"K{i}") for i in range(3)]
    value = world.beta.pk if new_value == "other" else None
    _raw("UPDATE audit_auditevent SET project_id = %s WHERE id = %s", [value, rows[1].id])
    report = audit_chain_verify()
    assert not report.ok and report.bad_id == rows[1].id and "was altered" in report.problem
    with pytest.raises(CommandError, match=f"row {rows[1].id} was altered"):
        call_command("verify_audit_chain")


def test_giving_an_old_row_a_project_id_breaks_the_chain(world):
    """Attaching old history to a (re-created) project is tampering too."""
    rows = [audit_record(action="secret.read", success=True, actor="system:test", scope="acme/production",
                         key=f"K{i}", project_id=None) for i in range(3)]
    _raw("UPDATE audit_auditevent SET project_id = %s WHERE id = %s", [world.acme.pk, rows[0].id])
    report = audit_chain_verify()
    assert not report.ok and report.bad_id == rows[0].id
