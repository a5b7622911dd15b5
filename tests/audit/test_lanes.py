"""Audit lanes: interleaved chains verify, tampering in any lane is found, purge anchors every lane."""

import datetime as dt
import itertools
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit import chain, services
from audit.models import GENESIS_HASH, AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import audit_record
from tests.audit.test_chain import _raw, write_concurrently

pytestmark = pytest.mark.django_db


@pytest.fixture
def lanes(monkeypatch):
    """Rows go to lanes 0, 1, 2, 0, 1, 2, ... (on SQLite the real lock_lane is always 0)."""
    cycle = itertools.cycle([0, 1, 2])
    monkeypatch.setattr(chain, "lock_lane", lambda: next(cycle))


def _rows(n, when=None, monkeypatch=None):
    if when is not None:
        monkeypatch.setattr(services, "timezone", SimpleNamespace(now=lambda: when))
    rows = [audit_record(action="secret.read", success=True, actor="system:test", key=f"K{i}") for i in range(n)]
    if when is not None:
        monkeypatch.setattr(services, "timezone", timezone)
    return rows


def test_interleaved_lanes_link_within_their_lane_and_verify(lanes):
    rows = _rows(9)
    assert [r.chain for r in rows] == [0, 1, 2] * 3
    for lane in (0, 1, 2):
        mine = [r for r in rows if r.chain == lane]
        assert mine[0].prev_hash == GENESIS_HASH
        assert [r.prev_hash for r in mine[1:]] == [r.row_hash for r in mine[:-1]]
    report = audit_chain_verify(batch_size=2)
    assert report.ok and report.rows == 9
    assert report.head_hash not in {r.row_hash for r in rows}  # several lanes: a digest of the heads


@pytest.mark.parametrize("tamper", ["delete", "alter", "move"])
def test_tampering_in_any_lane_is_found(lanes, tamper):
    rows = _rows(9)
    victim = rows[4]  # lane 1, in the middle of it
    sql = {
        "delete": "DELETE FROM audit_auditevent WHERE id = %s",
        "alter": "UPDATE audit_auditevent SET success = NOT success WHERE id = %s",
        "move": "UPDATE audit_auditevent SET chain = 2 WHERE id = %s",
    }[tamper]
    _raw(sql, [victim.id])
    report = audit_chain_verify(batch_size=4)
    assert not report.ok
    assert report.bad_id in {victim.id, rows[7].id}  # the row itself, or the next of lane 1 (or 2 when moved)


def test_purge_anchors_every_lane(lanes, monkeypatch, settings):
    settings.PLATOS_ADMIN_AUDIT_RETENTION_DAYS = 365
    old = _rows(7, when=timezone.now() - dt.timedelta(days=400), monkeypatch=monkeypatch)
    _rows(5)
    services.audit_purge(batch_size=3)
    purge = AuditEvent.objects.filter(action="audit.purge").order_by("-id").first()
    assert purge.extra["anchor_lanes"] == [0, 1, 2]
    last_of = {lane: [r for r in old if r.chain == lane][-1].row_hash for lane in (0, 1, 2)}
    assert purge.extra["anchor_hashes"] == [last_of[lane] for lane in (0, 1, 2)]
    assert not AuditEvent.objects.filter(id__in=[r.id for r in old]).exists()
    report = audit_chain_verify()
    assert report.ok, report.problem
    call_command("verify_audit_chain")


def test_a_lane_whose_older_rows_were_cut_is_found(lanes):
    rows = _rows(9)
    _raw("DELETE FROM audit_auditevent WHERE id IN (%s, %s)", [rows[1].id, rows[4].id])  # lane 1's first two
    report = audit_chain_verify()
    assert not report.ok and report.bad_id == rows[7].id and "first row" in report.problem


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_spread_over_lanes_and_verify():
    threads, per_thread = 6, 10
    used = {row.chain for row in write_concurrently(threads, per_thread)}
    assert len(used) > 1  # six backends did not all queue on one lane
    report = audit_chain_verify(batch_size=7)
    assert report.ok, report.problem
    assert report.rows == threads * per_thread
    assert AuditEvent.objects.values("chain", "prev_hash").distinct().count() == threads * per_thread
    assert connection.vendor == "postgresql"
