"""rotate_encryption_key re-encrypts the admins' TOTP seeds (found through the field registry)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from platos.core.fields import encrypted_fields
from platos.mfa_device import EncryptedTOTPDevice
from tests.platos.test_admin_mfa import code_for
from tests.platos.test_totp_at_rest import SEED, assert_no_seed, device_table_text
from tests.rotation.conftest import E1, E2, key_ids, kid, run
from tests.rotation.test_key_status import status_json

pytestmark = pytest.mark.django_db
COLUMN = "platos_encryptedtotpdevice.key"


def test_the_seed_column_is_in_the_encryption_keyrings_registry():
    assert "platos.EncryptedTOTPDevice.key" in {f.context for f in encrypted_fields("encryption")}
    assert "platos.EncryptedTOTPDevice.key" not in {f.context for f in encrypted_fields("messages")}


def test_rotation_re_encrypts_the_seed_and_login_works_after_the_swap(use_keys, settings):
    use_keys(enc=E1, canary=True)
    root = get_user_model().objects.create_superuser("root", "", "pw-root-123")
    device = EncryptedTOTPDevice.objects.create(user=root, name="phone", key=SEED, confirmed=True)
    assert key_ids("platos_encryptedtotpdevice", "key") == {kid(E1): 1}

    use_keys(enc=E1, enc_next=E2)
    code, out, err = run("rotate_encryption_key", "--dry-run")
    assert code == 0, out + err
    assert f"{COLUMN}: {kid(E1)}: 1 -> would rotate 1" in out
    assert key_ids("platos_encryptedtotpdevice", "key") == {kid(E1): 1}  # a dry run writes nothing
    code, out, err = run("rotate_encryption_key", "--verify")
    assert code == 0, out + err
    assert f"{COLUMN}: rotated 1, changed during run 0, failed 0, left under an old key 0" in out
    assert key_ids("platos_encryptedtotpdevice", "key") == {kid(E2): 1}
    column = next(c for c in status_json()["encryption"]["columns"] if c["column"] == COLUMN)
    assert column["rows"] == {kid(E2): 1}
    assert_no_seed(device_table_text(), SEED, "the device table after the rotation")

    use_keys(enc=E2)  # the swap: E1 is gone, the seed still decrypts
    device.refresh_from_db()
    assert device.key == SEED
    settings.PLATOS_REQUIRE_ADMIN_MFA = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    client = Client()
    client.force_login(root)
    r = client.post("/admin/mfa/verify/", {"code": code_for(device), "next": "/admin/"})
    assert r.status_code == 302 and client.get("/admin/").status_code == 200
