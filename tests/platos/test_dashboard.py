"""The admin index's dashboard: charts from the audit log, key health, counts, a pinned query count."""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.utils import timezone

from audit import services as audit_services
from platos.dashboard import dashboard_context
from tests.factories import AuditEventFactory

pytestmark = pytest.mark.django_db
SEEDED_SECRET = "zq-DASHBOARD-planted-secret-77"


@pytest.fixture
def seed(monkeypatch):
    """``seed(days_ago, n, **audit kwargs)``: n audit rows written as if ``days_ago`` days back."""

    def write(days_ago: int, n: int = 1, **kwargs):
        when = timezone.now() - dt.timedelta(days=days_ago)
        monkeypatch.setattr(audit_services, "timezone", SimpleNamespace(now=lambda: when))
        try:
            for _ in range(n):
                AuditEventFactory(**kwargs)
        finally:
            monkeypatch.undo()

    return write


def seed_month(seed):
    seed(0, 3, action="secret.read", key="OPENAI_API_KEY", scope="acme/production")
    seed(0, 1, action="secret.read", key="MISSING", scope="acme/production", success=False, reason="not_found")
    seed(2, 2, action="secret.read", key="STRIPE_KEY", scope="acme/production")
    seed(5, 2, action="entity.auth.failed", success=False, reason="bad_signature")
    seed(40, 5, action="secret.read", key="OLD_KEY", scope="acme/production")  # outside the 30 days


def test_dashboard_draws_the_charts_from_the_audit_rows_with_filtered_links(client, world, seed):
    seed_month(seed)
    client.force_login(world.root)
    html = client.get("/admin/").content.decode()
    for part in ('id="chart-reads"', 'id="chart-auth"', 'id="chart-top-keys"', 'id="key-health"',
                 'id="project-counts"'):
        assert part in html, part
    reads = html[html.index('id="chart-reads"'):html.index('id="chart-auth"')]
    assert len(re.findall(r"<rect class=\"ok\"", reads)) == 2 and len(re.findall(r"<rect class=\"failed\"", reads)) == 1
    assert "ok 5" in reads and "failed 1" in reads  # the 40-day-old rows are not counted
    today = timezone.localdate().isoformat()
    assert f"action=secret.read&amp;success__exact=0&amp;ts__gte={today}T00%3A00%3A00%2B00%3A00" in reads
    auth = html[html.index('id="chart-auth"'):html.index('id="chart-top-keys"')]
    assert len(re.findall(r"<rect ", auth)) == 1 and "action=entity.auth.failed" in auth
    top = html[html.index('id="chart-top-keys"'):]
    assert top.index("OPENAI_API_KEY") < top.index("STRIPE_KEY") and "OLD_KEY" not in top
    assert "cdn" not in html.lower() and "<script src=\"http" not in html
    # A bar's link opens the audit log filtered to what the bar counts.
    url = re.search(r'<a href="([^"]+success__exact=0[^"]+)"><rect class="failed"', reads).group(1)
    listing = client.get(url.replace("&amp;", "&"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert 'title="MISSING"' in body and 'title="OPENAI_API_KEY"' not in body


def test_key_health_and_project_counts(client, world):
    from secrets_app.services import env_var_create, provider_key_create

    env_var_create(environment=world.prod, name="TOOL_TOKEN", value=SEEDED_SECRET, kind="tool", actor=world.root)
    provider_key_create(environment=world.prod, provider="openai", label="main",
                        secret="sk-proj-DASHBOARDopenai0123456789", actor=world.root)
    context = dashboard_context(user=world.root)
    [acme] = [p for p in context["projects"] if p["project"] == "acme"]
    assert acme["env_vars"] == 2 and acme["keys"] == {"active": 1}
    rings = {r["keyring"]: r for r in context["keyrings"]}
    assert set(rings) == {"encryption", "messages"}
    assert rings["encryption"]["canary"]["status"] == "ok" and rings["encryption"]["old_rows"] == 0
    assert rings["encryption"]["rotation"] is None and rings["encryption"]["healthy"]
    client.force_login(world.root)
    assert SEEDED_SECRET not in client.get("/admin/").content.decode()


def key_status_queries() -> int:
    """The Keys page's own queries (one GROUP BY per encrypted column, the canaries): the dashboard reuses it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from platos.rotation.status import key_status

    with CaptureQueriesContext(connection) as ctx:
        key_status()
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_data(world, seed, django_assert_num_queries):
    seed_month(seed)
    assert key_status_queries() == KEY_STATUS_QUERIES
    with django_assert_num_queries(KEY_STATUS_QUERIES + OWN_QUERIES):
        dashboard_context(user=world.root)
    for days_ago in range(0, 30, 3):
        seed(days_ago, 4, action="secret.read", key=f"KEY_{days_ago}", scope="beta/production")
        seed(days_ago, 1, action="entity.auth.failed", success=False, reason="replayed_nonce")
    with django_assert_num_queries(KEY_STATUS_QUERIES + OWN_QUERIES):
        dashboard_context(user=world.root)


def test_a_staff_user_without_permissions_sees_no_figures(client, world):
    world.member.is_staff = True
    world.member.save()
    assert dashboard_context(user=world.member) == {"dashboard": True}
    client.force_login(world.member)
    html = client.get("/admin/").content.decode()
    assert 'id="chart-reads"' not in html and 'id="key-health"' not in html


# The dashboard's own: 5 for the project counts, 3 audit aggregates, whatever the number of rows.
OWN_QUERIES = 8
# Key status: one GROUP BY per encrypted column (the test app's included) and the canary reads.
# A new encrypted column adds one: update this and the README figure.
KEY_STATUS_QUERIES = 26  # one GROUP BY per encrypted column (env-var versions, TOTP seeds included), canaries, key age
