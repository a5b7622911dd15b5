import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from secrets_app.selectors import environment_get_for_user, project_list_for_user

pytestmark = pytest.mark.django_db


def test_member_sees_own_project_only(world):
    member, root = world.member, world.root  # member of acme; superuser
    assert list(project_list_for_user(user=member).values_list("slug", flat=True)) == ["acme"]
    assert project_list_for_user(user=root).count() == 2
    assert environment_get_for_user(user=member, project="acme", environment="production").scope == "acme/production"
    with pytest.raises(Http404):
        environment_get_for_user(user=member, project="beta", environment="production")


def test_role_is_enforced(world):
    member, root = world.member, world.root  # member of acme; superuser
    with pytest.raises(PermissionDenied):
        environment_get_for_user(user=member, project="acme", environment="production", role="admin")
    assert environment_get_for_user(user=root, project="beta", environment="production", role="admin")
