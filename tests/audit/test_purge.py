"""Retention: purge_audit deletes old rows in batches and the chain still verifies."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from audit.selectors import audit_chain_verify

pytestmark = pytest.mark.django_db


def _old_and_new(record_at, old=7, new=3):
    now = timezone.now()
    olds = [record_at(now - dt.timedelta(days=400, minutes=old - i), key=f"OLD{i}") for i in range(old)]
    news = [record_at(now - dt.timedelta(days=10, minutes=new - i), key=f"NEW{i}") for i in range(new)]
    return olds, news


def test_purge_deletes_only_old_rows_in_batches_and_keeps_the_chain(record_at, capsys, settings):
    settings.PLATOS_ADMIN_AUDIT_RETENTION_DAYS = 365
    olds, news = _old_and_new(record_at)
    call_command("purge_audit", batch_size=3)
    assert "purged 7 audit rows" in capsys.readouterr().out
    remaining = list(AuditEvent.objects.exclude(action="audit.purge").order_by("id").values_list("id", flat=True))
    assert remaining == [r.id for r in news]
    purges = list(AuditEvent.objects.filter(action="audit.purge").order_by("id"))
    assert [p.extra["deleted"] for p in purges] == [3, 3, 1]
    assert purges[-1].extra["anchor_id"] == olds[-1].id and purges[-1].extra["anchor_hash"] == olds[-1].row_hash
    assert purges[0].actor == "system:purge_audit"
    report = audit_chain_verify()
    assert report.ok, report.problem
    call_command("verify_audit_chain")
    # A second run has nothing to do and still leaves an intact chain.
    call_command("purge_audit")
    assert audit_chain_verify().ok and AuditEvent.objects.filter(action="audit.purge").count() == 3


def test_rows_removed_after_a_purge_are_still_detected(record_at):
    olds, news = _old_and_new(record_at)
    call_command("purge_audit", days=365)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT set_config('platos.audit_purge', 'on', true)")  # the attacker can too
        cur.execute("DELETE FROM audit_auditevent WHERE id = %s", [news[0].id])
    report = audit_chain_verify()
    assert not report.ok and report.bad_id == news[1].id
    with pytest.raises(CommandError, match=f"broken at row {news[1].id}"):
        call_command("verify_audit_chain")


def test_purge_of_everything_still_verifies(record_at):
    _old_and_new(record_at, old=4, new=0)
    call_command("purge_audit", days=30)
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["audit.purge"]
    assert audit_chain_verify().ok


def test_purge_refuses_a_retention_below_one_day():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("purge_audit", days=0)


def test_retention_setting_is_checked(settings):
    from audit.checks import check_retention

    settings.PLATOS_ADMIN_AUDIT_RETENTION_DAYS = 0
    assert [e.id for e in check_retention(None)] == ["audit.E001"]
    settings.PLATOS_ADMIN_AUDIT_RETENTION_DAYS = 365
    assert check_retention(None) == []
