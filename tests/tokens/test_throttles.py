"""Rate limits: 429 with Retry-After over the limit, one aggregated auth.throttled row per window.
Counters are in the default cache: locmem on `make test`, Redis on `make test-services`."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from audit.models import AuditEvent
from entities.services import entity_create
from secrets_app.models import Environment, Project, ProjectMembership
from secrets_app.services import env_var_create
from secrets_app.throttles import RuntimeReadRateThrottle

pytestmark = pytest.mark.django_db
WHOAMI = "/agent/v1/entity/whoami"


@pytest.fixture
def world(settings):
    settings.PLATOS_THROTTLE_RATES = {**settings.PLATOS_THROTTLE_RATES, "auth_failures_ip": "5/min",
                                      "auth_failures_entity": "3/min", "reveal": "2/min", "runtime_read": "2/min"}
    ada = get_user_model().objects.create_user("ada")
    env = Environment.objects.create(project=Project.objects.create(slug="acme", name="Acme"), slug="production")
    ProjectMembership.objects.create(user=ada, project=env.project, role="admin")
    entity, secret = entity_create(environment=env, actor=ada, slug="crm", display_name="CRM",
                                   base_url="https://crm.example.com")
    return type("W", (), {"ada": ada, "env": env, "entity": entity, "secret": secret})


def _statuses(n, **headers):
    client = APIClient()
    return [client.get(WHOAMI, **headers).status_code for _ in range(n)]


def test_failed_entity_auths_per_ip_get_429_and_one_aggregated_row(world):
    got = _statuses(12, HTTP_X_PLATOS_ENTITY="00000000-0000-0000-0000-000000000000", HTTP_AUTHORIZATION="Bearer wrong")
    assert got == [401] * 5 + [429] * 7
    assert AuditEvent.objects.filter(action="entity.auth.failed").count() == 5
    [row] = AuditEvent.objects.filter(action="auth.throttled")
    assert (row.success, row.reason, row.extra["rate"]) == (False, "auth_failures_ip", "5/min")
    r = APIClient().get(WHOAMI, HTTP_X_PLATOS_ENTITY=str(world.entity.pk),
                        HTTP_AUTHORIZATION=f"Bearer {world.secret}")
    assert r.status_code == 429 and 0 < int(r["Retry-After"]) <= 60  # locked out, even with the right secret
    assert "detail" in r.json()


def test_failed_auths_per_entity_are_limited_across_addresses(world):
    headers = {"HTTP_X_PLATOS_ENTITY": str(world.entity.pk), "HTTP_AUTHORIZATION": "Bearer wrong-secret"}
    got = [APIClient(REMOTE_ADDR=f"10.0.0.{i}").get(WHOAMI, **headers).status_code for i in range(6)]
    assert got == [401] * 3 + [429] * 3
    assert list(AuditEvent.objects.filter(action="auth.throttled").values_list("reason", flat=True)) == [
        "auth_failures_entity"]


def test_failed_token_auths_share_the_ip_limit(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer plt_" + "0" * 64)
    got = [client.get("/agent/v1/auth/tokens/").status_code for _ in range(8)]
    assert got == [401] * 5 + [429] * 3
    assert AuditEvent.objects.filter(action="token.auth.failed").count() == 5
    assert AuditEvent.objects.filter(action="auth.throttled").count() == 1


def test_reveals_per_user(world):
    env_var_create(environment=world.env, name="STRIPE_KEY", value="sk_live_0123456789abcdef", actor=world.ada)
    client = APIClient()
    client.force_authenticate(world.ada)
    url = "/agent/v1/projects/acme/environments/production/env-vars/STRIPE_KEY/reveal/"
    got = [client.post(url, {"reason": "INC-1"}, format="json") for _ in range(4)]
    assert [r.status_code for r in got] == [200, 200, 429, 429]
    assert "Retry-After" in got[2] and "sk_live" not in got[2].content.decode()
    [row] = AuditEvent.objects.filter(action="auth.throttled")
    assert (row.actor, row.reason) == ("ada", "reveal")


class _RuntimeView(APIView):
    throttle_classes = [RuntimeReadRateThrottle]

    def get(self, request):
        from rest_framework.response import Response
        return Response({"ok": True})


def test_runtime_read_throttle_is_per_account(world):
    bob = get_user_model().objects.create_user("bob")
    factory, view = APIRequestFactory(), _RuntimeView.as_view()

    def call(user):
        request = factory.get("/agent/v1/runtime/environments/production/env")
        from rest_framework.test import force_authenticate
        force_authenticate(request, user=user)
        return view(request).status_code

    assert [call(world.ada) for _ in range(3)] + [call(bob)] == [200, 200, 429, 200]
    assert AuditEvent.objects.filter(action="auth.throttled", reason="runtime_read").count() == 1
