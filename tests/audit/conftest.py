import datetime as dt
from types import SimpleNamespace

import pytest

from audit import services
from tests.factories import AuditEventFactory, ProjectFactory, ProjectMembershipFactory, UserFactory

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def record_at(monkeypatch):
    """``record_at(when, **audit_record kwargs)``: write a row as if it were ``when``."""

    def record(when: dt.datetime, **kwargs):
        monkeypatch.setattr(services, "timezone", SimpleNamespace(now=lambda: when))
        try:
            return AuditEventFactory(**kwargs)  # defaults: secret.read, success, actor system:test
        finally:
            monkeypatch.undo()

    return record


@pytest.fixture
def make_user():
    def make(username, *, admin_of=(), member_of=(), superuser=False):
        user = UserFactory(username=username, is_superuser=superuser, is_staff=superuser)
        for role, slugs in (("admin", admin_of), ("member", member_of)):
            for slug in slugs:  # ProjectFactory gets or creates by slug
                ProjectMembershipFactory(user=user, project=ProjectFactory(slug=slug, name=slug), role=role)
        return user

    return make
