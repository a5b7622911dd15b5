import datetime as dt
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model

from audit import services
from secrets_app.models import Project, ProjectMembership

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def record_at(monkeypatch):
    """``record_at(when, **audit_record kwargs)``: write a row as if it were ``when``."""

    def record(when: dt.datetime, **kwargs):
        kwargs.setdefault("success", True)
        kwargs.setdefault("action", "secret.read")
        kwargs.setdefault("actor", "system:test")
        monkeypatch.setattr(services, "timezone", SimpleNamespace(now=lambda: when))
        try:
            return services.audit_record(**kwargs)
        finally:
            monkeypatch.undo()

    return record


@pytest.fixture
def make_user():
    def make(username, *, admin_of=(), member_of=(), superuser=False):
        user = get_user_model().objects.create_user(username, is_superuser=superuser, is_staff=superuser)
        for slug in admin_of:
            project, _ = Project.objects.get_or_create(slug=slug, defaults={"name": slug})
            ProjectMembership.objects.create(user=user, project=project, role="admin")
        for slug in member_of:
            project, _ = Project.objects.get_or_create(slug=slug, defaults={"name": slug})
            ProjectMembership.objects.create(user=user, project=project, role="member")
        return user

    return make
