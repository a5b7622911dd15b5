"""User changes made in the admin are audit rows (``user.change``): which privilege flags,
groups and permissions changed, never a password or its hash."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from secrets_app.admin_users import AuditedUserAdmin

pytestmark = pytest.mark.django_db
USERS = "/admin/auth/user/"
NEW_PASSWORD = "Correct-Horse-Battery-42"  # noqa: S105 - a test password


@pytest.fixture
def root():
    return get_user_model().objects.create_superuser("root", "", "pw-root-123")


@pytest.fixture
def admin_client(root):
    client = Client()
    client.force_login(root)
    return client


def _change_form(user, **changes):
    joined = timezone.localtime(user.date_joined)
    data = {
        "username": user.username, "first_name": user.first_name, "last_name": user.last_name,
        "email": user.email, "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"), "last_login_0": "", "last_login_1": "",
        # The page sends the shown value back as initial-… (the admin's show_hidden_initial).
        "initial-date_joined_0": joined.strftime("%Y-%m-%d"), "initial-date_joined_1": joined.strftime("%H:%M:%S"),
        "groups": [g.pk for g in user.groups.all()], "user_permissions": [p.pk for p in user.user_permissions.all()],
    }
    for flag in ("is_active", "is_staff", "is_superuser"):
        if getattr(user, flag):
            data[flag] = "on"
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = "on" if value is True else value
    return data


def _rows():
    return AuditEvent.objects.filter(action="user.change").order_by("id")


def test_the_user_admin_is_the_audited_one():
    from django.contrib import admin

    assert isinstance(admin.site._registry[get_user_model()], AuditedUserAdmin)


def test_privilege_changes_are_audited_naming_what_changed(admin_client, root):
    bob = get_user_model().objects.create_user("bob")
    ops = Group.objects.create(name="ops")
    plaintext = Permission.objects.get(codename="view_message_plaintext")
    r = admin_client.post(f"{USERS}{bob.pk}/change/", _change_form(
        bob, is_staff=True, groups=[ops.pk], user_permissions=[plaintext.pk]))
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    row = _rows().get()
    assert (row.actor, row.actor_user_id, row.reason) == ("root", root.pk, "changed")
    assert (row.subject_type, row.subject_id, row.success, row.scope) == ("user", str(bob.pk), True, "")
    assert row.extra == {
        "object": "bob", "fields": ["groups", "is_staff", "user_permissions"], "is_staff": True,
        "groups_added": ["ops"], "groups_removed": [],
        "permissions_added": ["messages_app.view_message_plaintext"], "permissions_removed": [],
    }
    bob.refresh_from_db()
    r = admin_client.post(f"{USERS}{bob.pk}/change/", _change_form(
        bob, is_staff=False, is_superuser=True, is_active=False, groups=[]))
    assert r.status_code == 302
    row = _rows().last()
    assert row.extra["fields"] == ["groups", "is_active", "is_staff", "is_superuser"]
    assert (row.extra["is_staff"], row.extra["is_superuser"], row.extra["is_active"]) == (False, True, False)
    assert (row.extra["groups_added"], row.extra["groups_removed"]) == ([], ["ops"])
    assert "permissions_added" not in row.extra  # permissions did not change this time


def test_a_password_change_is_audited_without_the_password_or_its_hash(admin_client):
    bob = get_user_model().objects.create_user("bob", password="old-pw-12345")  # noqa: S106
    r = admin_client.post(f"{USERS}{bob.pk}/password/", {
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert r.status_code == 302, r.context["form"].errors if r.context else r
    bob.refresh_from_db()
    assert bob.check_password(NEW_PASSWORD)
    row = _rows().get()
    assert (row.reason, row.extra["fields"]) == ("changed", ["password"])
    dumped = str(list(AuditEvent.objects.values()))
    for leaked in (NEW_PASSWORD, bob.password, bob.password.split("$")[-1], "old-pw-12345"):
        assert leaked not in dumped


def test_adding_and_deleting_a_user_are_audited(admin_client):
    r = admin_client.post(f"{USERS}add/", {
        "username": "carol", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    carol = get_user_model().objects.get(username="carol")
    added = _rows().get()
    assert (added.reason, added.subject_id, added.extra["fields"]) == ("added", str(carol.pk), ["password", "username"])
    r = admin_client.post(f"{USERS}{carol.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    deleted = _rows().last()
    assert (deleted.reason, deleted.subject_id, deleted.extra) == (
        "deleted", str(carol.pk), {"object": "carol", "fields": []})
    dumped = str(list(AuditEvent.objects.values()))
    assert NEW_PASSWORD not in dumped and "pbkdf2" not in dumped and "argon2" not in dumped


def test_a_refused_change_writes_no_row(admin_client):
    bob = get_user_model().objects.create_user("bob")
    r = admin_client.post(f"{USERS}{bob.pk}/change/", _change_form(bob, is_staff=True, username=""))
    assert r.status_code == 200  # the form again, with its error
    assert not _rows().exists()


def test_a_groups_permission_change_is_a_group_change_row(admin_client):
    group = Group.objects.create(name="auditors")
    grant = Permission.objects.get(codename="view_message_plaintext")
    response = admin_client.post(f"/admin/auth/group/{group.pk}/change/",
                                 {"name": "auditors", "permissions": [grant.pk]})
    assert response.status_code == 302, response.content[:2000]
    row = AuditEvent.objects.get(action="group.change")
    assert (row.actor, row.subject_type, row.subject_id, row.reason) == ("root", "group", str(group.pk), "changed")
    assert row.extra["permissions_added"] == ["messages_app.view_message_plaintext"]
    assert row.extra["permissions_removed"] == [] and row.extra["fields"] == ["permissions"]
    response = admin_client.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="group.change", reason="deleted", subject_id=str(group.pk)).count() == 1
