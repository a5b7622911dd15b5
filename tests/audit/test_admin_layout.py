"""The audit list's wording and layout: "By time", seconds and time zone, long values cut with a tooltip."""

import datetime as dt

import pytest

from audit.services import audit_record

pytestmark = pytest.mark.django_db


def test_audit_list_says_by_time_shows_seconds_and_zone_and_cuts_long_values(client, world):
    long_key = "A_VERY_LONG_VARIABLE_NAME_THAT_WOULD_WIDEN_THE_TABLE_" + "X" * 60
    row = audit_record(action="secret.read", success=False, actor=world.root, key=long_key,
                       scope="acme/production", reason="not_found")
    client.force_login(world.root)
    html = client.get("/admin/audit/auditevent/").content.decode()
    assert "By time" in html and "By ts" not in html
    stamp = row.ts.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") + " UTC"
    assert stamp in html
    assert f'class="audit-cut" title="{long_key}"' in html
    assert "text-overflow: ellipsis" in html


def test_a_rows_page_labels_its_time_not_ts(client, world):
    row = audit_record(action="secret.read", success=True, actor=world.root, key="K", scope="acme/production")
    client.force_login(world.root)
    html = client.get(f"/admin/audit/auditevent/{row.pk}/change/").content.decode()
    assert "<label>Time:</label>" in html and "<label>Ts:</label>" not in html
    assert row.ts.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") + " UTC" in html
