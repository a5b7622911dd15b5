import ast
import json
from pathlib import Path

import pytest
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from secrets_app import boundaries
from secrets_app.models import Environment, ProjectMembership
from secrets_app.scopes import (
    InScope,
    RoleRequired,
    ScopeNotFound,
    actor_may_read,
    admin_projects_for_user,
    environment_get_for_user,
    project_list_for_user,
)

pytestmark = pytest.mark.django_db


def test_member_sees_own_project_only(world):
    member, root = world.member, world.root  # member of acme; superuser
    assert list(project_list_for_user(user=member).values_list("slug", flat=True)) == ["acme"]
    assert project_list_for_user(user=root).count() == 2
    assert environment_get_for_user(user=member, project="acme", environment="production").scope == "acme/production"
    with pytest.raises(ScopeNotFound):
        environment_get_for_user(user=member, project="beta", environment="production")


def test_role_is_enforced(world):
    member, root = world.member, world.root  # member of acme; superuser
    with pytest.raises(RoleRequired):
        environment_get_for_user(user=member, project="acme", environment="production", role="admin")
    assert environment_get_for_user(user=root, project="beta", environment="production", role="admin")


# --- the one permission class, and the refusals as HTTP -------------------------------

class _Probe(APIView):
    """A scoped view with a read (GET) and a write (POST): what InScope decides, nothing else."""

    permission_classes = [permissions.IsAuthenticated, InScope]

    def get(self, request, project, environment):
        return Response({"scope": self.environment.scope})

    def post(self, request, project, environment):
        return Response({"scope": self.environment.scope}, status=201)


class _ReadingPost(_Probe):
    scope_read_methods = (*permissions.SAFE_METHODS, "POST")


def _call(view, method, user, project="acme"):
    request = getattr(APIRequestFactory(), method)(f"/x/{project}/production/")
    force_authenticate(request, user=user)
    response = view.as_view()(request, project=project, environment="production")
    response.render()
    return response


def test_in_scope_lets_a_member_read_and_sets_the_environment(world):
    member, root = world.member, world.root
    response = _call(_Probe, "get", member)
    assert response.status_code == 200 and response.data == {"scope": "acme/production"}
    assert _call(_Probe, "post", root, project="beta").status_code == 201


def test_in_scope_answers_a_non_member_404_whether_or_not_the_project_exists(world):
    member = world.member
    for project in ("beta", "no-such-project"):
        for method in ("get", "post"):
            response = _call(_Probe, method, member, project=project)
            assert response.status_code == 404, (project, method)
            assert json.loads(response.content) == {"detail": "No such project/environment.", "code": "not_found"}


def test_in_scope_refuses_a_member_writing_with_403(world):
    member = world.member
    response = _call(_Probe, "post", member)
    assert response.status_code == 403
    assert json.loads(response.content) == {"detail": "This needs the admin role in project acme."}
    # A view may declare a POST that only reads (provider-key test): members may run it.
    assert _call(_ReadingPost, "post", member).status_code == 201


def test_in_scope_refuses_the_anonymous_before_looking_anything_up(world, django_assert_num_queries):
    request = APIRequestFactory().get("/x/acme/production/")
    with django_assert_num_queries(0):
        response = _Probe.as_view()(request, project="acme", environment="production")
    assert response.status_code in (401, 403)


def test_the_browsable_api_renders_for_a_member_who_may_not_write(world):
    """It probes POST's permission to decide on a form: that must be a quiet no, not a 500."""
    member = world.member
    client = APIClient()
    client.force_authenticate(member)
    response = client.get("/agent/v1/projects/acme/environments/production/env-vars/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and "text/html" in response["Content-Type"]


def test_the_secret_read_rule_is_the_same_rule(world):
    member, root = world.member, world.root
    acme, beta = (Environment.objects.get(project__slug=s, slug="production") for s in ("acme", "beta"))
    assert actor_may_read(actor=member, environment=acme)
    assert not actor_may_read(actor=member, environment=beta)
    assert actor_may_read(actor=root, environment=beta)
    assert actor_may_read(actor="system:runtime", environment=beta) and not actor_may_read(actor="", environment=acme)
    member.is_active = False
    assert not actor_may_read(actor=member, environment=acme)


def test_admin_projects_are_the_admin_role_only(world):
    member = world.member
    assert admin_projects_for_user(member) == []
    ProjectMembership.objects.filter(user=member).update(role="admin")
    assert [(pk, slug) for pk, slug, _ in admin_projects_for_user(member)] == [(world.acme.pk, "acme")]


def test_the_boundary_registry_does_not_import_the_readers():
    """The old cycle: boundaries.resolve imported services.readers lazily, readers imported boundaries."""
    tree = ast.parse(Path(boundaries.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith("secrets_app")}, imported
