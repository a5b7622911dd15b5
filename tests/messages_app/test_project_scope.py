"""Conversations belong to projects: viewers read, members and admins write, the
plaintext permission reads everywhere and never writes; outsiders get 404; unscoped
threads are for superusers only. And the migration that turned the slugs into keys."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from audit.models import AuditEvent
from messages_app import services
from messages_app.crypto_service import PlaintextView
from messages_app.models import Message, Thread
from tests.factories import ProjectMembershipFactory, StaffUserFactory, ThreadFactory, UserFactory

from .conftest import secret


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def scoped(world):
    world.viewer = UserFactory(username="vera")
    ProjectMembershipFactory(user=world.viewer, project=world.acme, role="viewer")
    world.auditor = StaffUserFactory(username="audrey")
    world.auditor.user_permissions.add(Permission.objects.get(codename="view_message_plaintext"))
    world.thread = ThreadFactory(title="acme chat", project=world.acme, environment=world.prod)
    services.message_create(thread=world.thread, role="user", content=secret("acme"))
    world.unscoped = ThreadFactory(title="legacy")
    return world


def _write_status(user, thread) -> int:
    return client_for(user).post(f"/agent/v1/threads/{thread.pk}/messages/", {"role": "user", "content": "x"},
                                 format="json").status_code


@pytest.mark.django_db
def test_roles_read_and_write_as_the_project_says(scoped):
    w = scoped
    expected = {  # user: (lists the acme thread, reads its messages, writes a message)
        w.viewer: (True, 200, 403),
        w.member: (True, 200, 201),
        w.admin: (True, 200, 201),
        w.outsider: (False, 404, 404),
        w.auditor: (True, 200, 403),
        w.root: (True, 200, 201),
    }
    for user, (listed, read, write) in expected.items():
        client = client_for(user)
        ids = {t["id"] for t in client.get("/agent/v1/threads/").json()["results"]}
        got = (str(w.thread.pk) in ids, client.get(f"/agent/v1/threads/{w.thread.pk}/messages/").status_code,
               _write_status(user, w.thread))
        assert got == (listed, read, write), user.username


@pytest.mark.django_db
def test_unscoped_threads_are_for_superusers_only(scoped):
    w = scoped
    for user in (w.admin, w.auditor, w.member):
        assert client_for(user).get(f"/agent/v1/threads/{w.unscoped.pk}/").status_code == 404
    assert client_for(w.root).get(f"/agent/v1/threads/{w.unscoped.pk}/").status_code == 200


@pytest.mark.django_db
def test_creating_a_thread_takes_a_scope_the_caller_may_write(scoped):
    w = scoped
    resp = client_for(w.member).post("/agent/v1/threads/", {"title": "t", "project": "acme",
                                                            "environment": "staging"}, format="json")
    assert resp.status_code == 201
    assert (resp.json()["project"], resp.json()["project_id"], resp.json()["environment"]) == (
        "acme", w.acme.pk, "staging")
    assert client_for(w.viewer).post("/agent/v1/threads/", {"title": "t", "project": "acme"},
                                     format="json").status_code == 403
    assert client_for(w.auditor).post("/agent/v1/threads/", {"title": "t", "project": "acme"},
                                      format="json").status_code == 400  # not a project of theirs
    bad = client_for(w.member).post("/agent/v1/threads/", {"title": "t", "project": "acme",
                                                           "environment": "nope"}, format="json")
    assert bad.status_code == 400 and "environment" in bad.json()
    assert client_for(w.outsider).post("/agent/v1/threads/", {"title": "t", "project": "acme"},
                                       format="json").status_code == 400


@pytest.mark.django_db
def test_edits_forks_and_safety_events_need_the_write_role(scoped):
    w = scoped
    message = Message.objects.get(thread=w.thread)
    for user, status in ((w.viewer, 403), (w.auditor, 403), (w.outsider, 404)):
        client = client_for(user)
        assert client.post(f"/agent/v1/messages/{message.pk}/edit/", {"content": "y"},
                           format="json").status_code == status
        assert client.post(f"/agent/v1/threads/{w.thread.pk}/fork/", {"message_id": str(message.pk)},
                           format="json").status_code == status
    event = {"thread": str(w.thread.pk), "detector": "pii", "action": "flag", "severity": "low"}
    assert client_for(w.viewer).post("/agent/v1/safety-events/", event, format="json").status_code == 403
    assert client_for(w.outsider).post("/agent/v1/safety-events/", event, format="json").status_code == 400
    assert client_for(w.member).post("/agent/v1/safety-events/", event, format="json").status_code == 201
    assert client_for(w.outsider).get("/agent/v1/safety-events/").json()["results"] == []
    assert len(client_for(w.viewer).get("/agent/v1/safety-events/").json()["results"]) == 1


@pytest.mark.django_db
def test_plaintext_view_rows_name_the_project_by_id_and_slug(scoped):
    view = PlaintextView(user=scoped.root)
    view.shown = 1
    row = services.message_plaintext_view_record(view=view, user=scoped.root, model=Thread,
                                                 object_id=str(scoped.thread.pk))
    assert (row.scope, row.project, row.extra["project_id"]) == ("acme/production", "acme", scoped.acme.pk)
    assert AuditEvent.objects.filter(pk=row.pk, extra__project_id=scoped.acme.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_slugs_into_keys():
    before = [("messages_app", "0002_pending_rerun_cancelled"), ("secrets_app", "0005_membership_viewer_role")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    project = old.get_model("secrets_app", "Project").objects.create(slug="acme", name="Acme")
    env = old.get_model("secrets_app", "Environment").objects.create(project=project, slug="production")
    OldThread = old.get_model("messages_app", "Thread")
    scoped = OldThread.objects.create(title="a", project_slug="acme", environment_slug="production")
    project_only = OldThread.objects.create(title="b", project_slug="acme", environment_slug="gone")
    orphan = OldThread.objects.create(title="c", project_slug="deleted-project")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    got = {t.pk: (t.project_id, t.environment_id) for t in Thread.objects.all()}
    assert got == {scoped.pk: (project.pk, env.pk), project_only.pk: (project.pk, None), orphan.pk: (None, None)}
