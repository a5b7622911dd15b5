"""Fixtures of the messages tests, and the suite-wide "no plaintext in any log line" guard.

Every plaintext these tests write contains ``MARK``. The autouse ``no_plaintext_logged``
fixture captures every log record at DEBUG during every test of this folder and
fails the test if one of them (message, arguments or traceback) contains it.
"""

import logging
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from platos.core.keys import load_keyrings
from tests.factories import ProjectFactory, ProjectMembershipFactory, StaffUserFactory, ThreadFactory

MARK = "zebra-plaintext"

# Message keys for the rotation cases (32 ASCII characters; test-only).
K1 = "5d1e9c3b7a2f4e6d8c0a1b3d5f7e9a2c"
K2 = "a7c5e3f1d9b8a6c4e2f0d8b6a4c2e0f9"
ENC = "7e1b0c5a9d3f48e2a6c4b8d0f2e4a6c8"  # ENCRYPTION_KEY of settings_test


def message_rings(current, nxt=None):
    env = {"ENCRYPTION_KEY": ENC, "PLATOS_MESSAGE_ENCRYPTION_KEY": current}
    if nxt:
        env["PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT"] = nxt
    return load_keyrings(env)


def secret(label: str) -> str:
    return f"{MARK} {label}: my card is 4111 1111 1111 1111"


@pytest.fixture(autouse=True)
def no_plaintext_logged(caplog):
    caplog.set_level(logging.DEBUG)
    yield
    # After the yield caplog.records is the (empty) teardown phase: read setup and call.
    for record in caplog.get_records("setup") + caplog.get_records("call"):
        line = record.getMessage() + (record.exc_text or "")
        if record.exc_info and record.exc_info[1] is not None:
            line += repr(record.exc_info[1])
        assert MARK not in line, f"plaintext reached the log ({record.name})"


def db_pk(model, pk):
    """A primary key as the database column holds it (UUIDs are 32 hex chars on SQLite, uuid on PostgreSQL)."""
    if model._meta.pk.get_internal_type() == "UUIDField":
        pk = uuid.UUID(str(pk))
    return model._meta.pk.get_db_prep_value(pk, connection)


@pytest.fixture
def raw_column(raw_column):
    """The shared fixture, with the pk converted for the column: it passes pk to SQL as given,
    which never matches a UUID pk on SQLite (stored without dashes)."""

    def read(model, field_name, pk):
        return raw_column(model, field_name, db_pk(model, pk))

    return read


@pytest.fixture
def acme(db):
    return ProjectFactory(slug="acme")


@pytest.fixture
def staff(acme):
    """Staff with the plaintext permission (an auditor), and a member of ``acme``, where
    this suite's threads live: members write conversations, the permission alone never does."""
    from django.contrib.auth.models import Permission

    user = StaffUserFactory(username="staff", email="s@example.com", password="pw")  # noqa: S106
    user.user_permissions.add(Permission.objects.get(codename="view_message_plaintext"))
    ProjectMembershipFactory(user=user, project=acme, role="member")
    return user


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def thread(staff, acme):
    return ThreadFactory(title="support chat", created_by=staff, project=acme)
