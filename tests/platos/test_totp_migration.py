"""platos.0003: django-otp's plaintext TOTP devices move into the encrypted model; their table goes.

Run through Django's migration executor against the test database (SQLite or
PostgreSQL): back to 0002, django-otp 1.7.5's ``otp_totp_totpdevice`` table as an
upgraded install has it (with a device, its migration records, content type and
permission), then forward through 0003.
"""

import datetime as dt

import pytest
from django.apps.registry import Apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from platos.core.envelope import get_keyring, token_key_id
from platos.mfa_device import EncryptedTOTPDevice
from tests.platos.test_admin_mfa import code_for
from tests.platos.test_totp_at_rest import SEED, assert_no_seed, device_table_text, stored_key

pytestmark = pytest.mark.django_db(transaction=True)

OTP_TOTP_MIGRATIONS = ("0001_initial", "0002_auto_20190420_0723", "0003_add_timestamps")


def legacy_device_model():
    """otp_totp.TOTPDevice's columns as django-otp 1.7.5 creates them (its app is not installed here)."""

    class TOTPDevice(models.Model):
        user_id = models.IntegerField()
        name = models.CharField(max_length=64)
        confirmed = models.BooleanField(default=True)
        key = models.CharField(max_length=80)
        step = models.PositiveSmallIntegerField(default=30)
        t0 = models.BigIntegerField(default=0)
        digits = models.PositiveSmallIntegerField(default=6)
        tolerance = models.PositiveSmallIntegerField(default=1)
        drift = models.SmallIntegerField(default=0)
        last_t = models.BigIntegerField(default=-1)
        throttling_failure_timestamp = models.DateTimeField(null=True, default=None)
        throttling_failure_count = models.PositiveIntegerField(default=0)
        created_at = models.DateTimeField(null=True)
        last_used_at = models.DateTimeField(null=True)

        class Meta:
            apps = Apps()
            app_label = "otp_totp"
            db_table = "otp_totp_totpdevice"

        def __str__(self) -> str:
            return self.name

    return TOTPDevice


def migrate_to(target: str) -> None:
    MigrationExecutor(connection).migrate([("platos", target)])


@pytest.fixture
def before_0003():
    """The database at platos.0002 with otp_totp's table; left fully migrated afterwards."""
    migrate_to("0002_encryptedtotpdevice")
    legacy = legacy_device_model()
    with connection.schema_editor() as editor:
        editor.create_model(legacy)
    recorder = MigrationRecorder(connection)
    for name in OTP_TOTP_MIGRATIONS:
        recorder.record_applied("otp_totp", name)
    try:
        yield legacy
    finally:
        if legacy._meta.db_table in connection.introspection.table_names():
            with connection.schema_editor() as editor:
                editor.delete_model(legacy)
        MigrationRecorder.Migration.objects.filter(app="otp_totp").delete()
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_0003_moves_a_plaintext_device_and_login_still_works(before_0003, settings):
    from django.contrib.auth import get_user_model

    settings.PLATOS_REQUIRE_ADMIN_MFA = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    root = get_user_model().objects.create_superuser("root", "", "pw-root-123")
    enrolled = timezone.now() - dt.timedelta(days=30)
    step_now = int(timezone.now().timestamp()) // 30
    old = before_0003.objects.create(user_id=root.pk, name="phone", confirmed=True, key=SEED, drift=1,
                                     last_t=step_now - 3, created_at=enrolled)
    spare = before_0003.objects.create(user_id=root.pk, name="unconfirmed", confirmed=False,
                                       key="ab" * 20, created_at=enrolled)
    totp_type = ContentType.objects.create(app_label="otp_totp", model="totpdevice")
    Permission.objects.create(content_type=totp_type, codename="view_totpdevice", name="Can view TOTP device")

    migrate_to("0003_move_plaintext_totp_devices")

    assert "otp_totp_totpdevice" not in connection.introspection.table_names()
    assert not MigrationRecorder.Migration.objects.filter(app="otp_totp").exists()
    assert not ContentType.objects.filter(app_label="otp_totp").exists()
    assert not Permission.objects.filter(codename="view_totpdevice").exists()
    device = EncryptedTOTPDevice.objects.get(pk=old.pk)
    assert (device.user, device.name, device.confirmed, device.drift, device.last_t, device.created_at) == (
        root, "phone", True, 1, step_now - 3, enrolled)
    assert device.key == SEED and EncryptedTOTPDevice.objects.get(pk=spare.pk).confirmed is False
    for pk in (old.pk, spare.pk):
        assert token_key_id(stored_key(pk)) == get_keyring("encryption").write.id
    assert_no_seed(device_table_text(), SEED, "the device table after the migration")
    assert_no_seed(device_table_text(), "ab" * 20, "the device table after the migration")

    client = Client()  # the admin logs in with the authenticator app enrolled before the upgrade
    client.force_login(root)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = f"otp_totp.totpdevice/{old.pk}"  # a session verified before the upgrade
    session.save()
    assert client.get("/admin/")["Location"].startswith("/admin/mfa/verify/")  # verifies once more, no 500
    r = client.post("/admin/mfa/verify/", {"code": code_for(device), "next": "/admin/"})
    assert r.status_code == 302 and client.get("/admin/").status_code == 200
    new = EncryptedTOTPDevice.objects.create(user=root, name="another")  # the id sequence follows the kept ids
    assert new.pk > max(old.pk, spare.pk)


def test_0003_on_a_database_that_never_had_otp_totp_moves_nothing():
    migrate_to("0002_encryptedtotpdevice")
    try:
        migrate_to("0003_move_plaintext_totp_devices")
        assert not EncryptedTOTPDevice.objects.exists()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
