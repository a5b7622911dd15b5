"""Admin TOTP seeds at rest: an envelope under ENCRYPTION_KEY in the device table, never hex or base32.

Runs on SQLite and on PostgreSQL (DATABASE_URL): every check reads the table with raw SQL.
"""

import logging
from base64 import b32encode
from binascii import unhexlify

import django_otp
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from platos.core.envelope import get_keyring, is_token, token_key_id
from platos.core.fields import Undecryptable
from platos.mfa_device import EncryptedTOTPDevice
from tests.platos.test_admin_mfa import code_for

pytestmark = pytest.mark.django_db

SEED = "3132333435363738393031323334353637383930"  # RFC 6238's SHA-1 seed ("12345678901234567890")


def seed_spellings(hex_seed: str) -> list[str]:
    """Every way a seed could be written down: hex either case, base32 either case, with/without padding."""
    b32 = b32encode(unhexlify(hex_seed)).decode()
    return [hex_seed.lower(), hex_seed.upper(), b32, b32.lower(), b32.rstrip("=")]


def device_table_text() -> list[str]:
    """Every column of every device row as text, straight from the database (no ORM decoding)."""
    qn = connection.ops.quote_name
    columns = [f.column for f in EncryptedTOTPDevice._meta.concrete_fields]
    select = ", ".join(f"CAST({qn(c)} AS TEXT)" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {qn(EncryptedTOTPDevice._meta.db_table)}")
        return [value for row in cursor.fetchall() for value in row if value is not None]


def stored_key(pk) -> str:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {qn('key')} FROM {qn(EncryptedTOTPDevice._meta.db_table)} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def assert_no_seed(texts, seed_hex: str, where: str) -> None:
    for text in texts:
        for spelling in seed_spellings(seed_hex):
            assert spelling not in text, f"the TOTP seed is in {where}"


def test_the_spellings_are_found_when_present():
    """The scan can fail: a plaintext seed in any spelling is caught."""
    for spelling in seed_spellings(SEED):
        with pytest.raises(AssertionError):
            assert_no_seed([f"x{spelling}y"], SEED, "a planted row")


def test_enrolment_stores_an_envelope_and_no_seed_reaches_the_table_or_the_sql_log(mfa_on, root, caplog):
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    client = Client()
    client.force_login(root)
    with CaptureQueriesContext(connection) as queries:  # also turns on the DEBUG SQL log
        page = client.get("/admin/mfa/enrol/").content.decode()
        device = EncryptedTOTPDevice.objects.get(user=root)
        assert device.secret_b32 in page  # the one-time provisioning display is kept
        r = client.post("/admin/mfa/enrol/", {"code": code_for(device), "next": "/admin/"})
        assert r.status_code == 302 and r["Location"] == "/admin/"
    stored = stored_key(device.pk)
    assert is_token(stored) and token_key_id(stored) == get_keyring("encryption").write.id
    assert stored.startswith("pv2:")  # row-bound to its owner
    assert_no_seed(device_table_text(), device.key, "the device table")
    assert_no_seed([q["sql"] for q in queries.captured_queries], device.key, "an SQL statement")
    assert_no_seed([caplog.text], device.key, "the DEBUG SQL log")
    assert any("platos_encryptedtotpdevice" in q["sql"] for q in queries.captured_queries)  # the log was read
    device.refresh_from_db()
    assert device.confirmed and len(bytes.fromhex(device.key)) == 20


def test_the_envelope_is_bound_to_its_column(root):
    """A seed envelope pasted into another encrypted column does not decrypt there (context binding)."""
    device = EncryptedTOTPDevice.objects.create(user=root, name="phone", key=SEED)
    assert device.key == SEED and EncryptedTOTPDevice.objects.get().key == SEED
    field = EncryptedTOTPDevice._meta.get_field("key")
    assert field.keyring == "encryption" and field.context == "platos.EncryptedTOTPDevice.key"
    assert_no_seed(device_table_text(), SEED, "the device table")


def test_a_seed_copied_into_another_admins_device_does_not_decrypt_there(root):
    """Someone who can write the table pastes the envelope of a seed they know (their own device's)
    into an admin's device row: it is bound to its owner, so the admin's device cannot verify with it."""
    mallory = get_user_model().objects.create_user(username="mallory", is_staff=True)
    theirs = EncryptedTOTPDevice.objects.create(user=mallory, name="phone", key=SEED)
    admins = EncryptedTOTPDevice.objects.create(user=root, name="phone")
    table = connection.ops.quote_name(EncryptedTOTPDevice._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET key = %s WHERE id = %s", [stored_key(theirs.pk), admins.pk])
    moved = EncryptedTOTPDevice.objects.get(pk=admins.pk)
    assert isinstance(moved.key, Undecryptable)  # the placeholder, never the seed
    assert not moved.verify_token(code_for(theirs))  # refused, not a crash
    assert EncryptedTOTPDevice.objects.get(pk=theirs.pk).key == SEED  # where it belongs it still opens


def test_rfc_6238_vector(root, monkeypatch):
    """The device accepts the standard's code (T = 59 s, 8 digits) and not the same code twice."""
    device = EncryptedTOTPDevice.objects.create(user=root, name="phone", key=SEED, digits=8, tolerance=0)
    monkeypatch.setattr("platos.mfa_device.time.time", lambda: 59)
    assert device.verify_token("94287082") and device.last_t == 1
    device.refresh_from_db()
    assert device.last_t == 1 and device.throttling_failure_count == 0
    assert not device.verify_token("94287082")  # same step: refused (last_t)
    assert not device.verify_token("not a number")


def test_config_url_is_django_otps_key_uri(root, settings):
    device = EncryptedTOTPDevice.objects.create(user=root, name="phone", key=SEED)
    assert device.config_url == ("otpauth://totp/Platos%3Aroot?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                                 "&algorithm=SHA1&digits=6&period=30&issuer=Platos")
    settings.OTP_TOTP_ISSUER = lambda device: f"Platos {device.name}:"
    settings.OTP_TOTP_IMAGE = "https://example.com/logo.png"
    assert device.config_url.endswith("&issuer=Platos%20phone&image=https://example.com/logo.png")


def test_django_otp_finds_the_device_and_login_works_replay_refused(mfa_on, root):
    device = EncryptedTOTPDevice.objects.create(user=root, name="phone", key=SEED, confirmed=True)
    assert list(django_otp.devices_for_user(root)) == [device] and django_otp.user_has_device(root)
    code = code_for(device)
    client = Client()
    client.force_login(root)
    assert client.get("/admin/")["Location"].startswith("/admin/mfa/verify/")
    assert client.post("/admin/mfa/verify/", {"code": code, "next": "/admin/"}).status_code == 302
    assert client.get("/admin/").status_code == 200  # OTPMiddleware loads the device from the session
    assert client.session[django_otp.DEVICE_ID_SESSION_KEY] == f"platos.encryptedtotpdevice/{device.pk}"

    replay = Client()
    replay.force_login(root)
    r = replay.post("/admin/mfa/verify/", {"code": code, "next": "/admin/"})
    assert r.status_code == 200 and "not valid" in r.content.decode()  # the same code, a second time
    assert replay.get("/admin/").status_code == 302
    assert AuditEvent.objects.filter(action="admin.mfa.failed", actor="root").count() == 1
    EncryptedTOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)  # as after the wait
    device.refresh_from_db()
    assert django_otp.verify_token(root, device.persistent_id, code_for(device, steps_ahead=1)) == device


def test_the_admin_lists_devices_without_the_seed(admin_client, admin_user):
    device = EncryptedTOTPDevice.objects.create(user=admin_user, name="phone", key=SEED)
    base = "/admin/platos/encryptedtotpdevice/"
    pages = {url: admin_client.get(url) for url in (base, f"{base}{device.pk}/change/", f"{base}{device.pk}/delete/",
                                                  f"{base}{device.pk}/history/", "/admin/", "/admin/platos/")}
    for url, response in pages.items():
        assert response.status_code == 200, url
        assert_no_seed([response.content.decode()], SEED, url)
        html = response.content.decode()
        assert "pv1:" not in html and "pv2:" not in html, url  # nor its envelope
    assert "phone" in pages[base].content.decode()
    [keys] = [app for app in pages["/admin/"].context["app_list"] if app["app_label"] == "platos"]
    assert [m["name"] for m in keys["models"]] == ["Keys", "TOTP devices"]  # the Keys page first
    assert admin_client.get(f"{base}add/").status_code == 403  # devices are enrolled by their owner
    assert admin_client.get(f"{base}?key__isnull=False").status_code == 400  # no lookups on the seed
    r = admin_client.post(f"{base}{device.pk}/delete/", {"post": "yes"})  # a lost device
    assert r.status_code == 302 and not EncryptedTOTPDevice.objects.exists()
    [row] = AuditEvent.objects.filter(action="admin.mfa.reset")
    assert (row.actor, row.subject_id, row.extra["user"]) == (admin_user.username, str(device.pk), admin_user.username)
    assert_no_seed([str(row.extra), row.subject_id], SEED, "audit row")


def test_deleting_devices_from_the_list_records_one_reset_each(admin_client, admin_user):
    others = [get_user_model().objects.create_user(username=f"u{i}", is_staff=True) for i in range(2)]
    devices = [EncryptedTOTPDevice.objects.create(user=u, name="phone", key=SEED) for u in others]
    response = admin_client.post("/admin/platos/encryptedtotpdevice/", {
        "action": "delete_selected", "_selected_action": [d.pk for d in devices], "post": "yes"})
    assert response.status_code == 302 and not EncryptedTOTPDevice.objects.exists()
    rows = AuditEvent.objects.filter(action="admin.mfa.reset").order_by("subject_id")
    expected = sorted((str(d.pk), d.user.username) for d in devices)
    assert sorted((r.subject_id, r.extra["user"]) for r in rows) == expected
