"""Move django-otp's plaintext TOTP devices into platos.EncryptedTOTPDevice, then drop their table.

``django_otp.plugins.otp_totp`` is no longer installed (its ``key`` column held every
admin's seed as hex in clear), so its own migrations cannot run; this one takes over
what it left behind, as ``tokens.0002`` did for DRF's authtoken. Each row keeps its
id, owner, name, confirmed flag, parameters, drift, last_t, throttling state and
timestamps, and its seed is written through the encrypted field (an envelope under
ENCRYPTION_KEY): enrolled admins keep their authenticator app and log in as before.
Their sessions verify once more (a session names its device by model label).

Then the plaintext table is dropped, with otp_totp's migration records, content type
and permissions. Not reversible into plaintext: going back leaves the devices where
they are. A database that never had otp_totp (a new install) has nothing to move.
"""

from django.core.management.color import no_style
from django.db import migrations

OLD_TABLE = "otp_totp_totpdevice"
NEW_TABLE = "platos_encryptedtotpdevice"
# Every column of otp_totp.TOTPDevice (its migrations 0001-0003) except the seed.
COPIED = ("id", "user_id", "name", "confirmed", "step", "t0", "digits", "tolerance", "drift", "last_t",
          "throttling_failure_timestamp", "throttling_failure_count", "created_at", "last_used_at")


def move_devices(apps, schema_editor):
    connection = schema_editor.connection
    qn = connection.ops.quote_name
    if OLD_TABLE in connection.introspection.table_names():
        Device = apps.get_model("platos", "EncryptedTOTPDevice")
        columns = ", ".join(qn(c) for c in COPIED)
        with connection.cursor() as cursor:
            # Everything but the seed is copied by the database as it is (types, timestamps);
            # the seed column gets a placeholder that the ORM overwrites with an envelope
            # below, in this migration's transaction: no seed is ever written in clear.
            cursor.execute(f"INSERT INTO {qn(NEW_TABLE)} ({columns}, {qn('key')}) "
                           f"SELECT {columns}, '' FROM {qn(OLD_TABLE)}")
            cursor.execute(f"SELECT {qn('id')}, {qn('key')} FROM {qn(OLD_TABLE)}")
            seeds = cursor.fetchall()
        for pk, seed in seeds:
            Device.objects.filter(pk=pk).update(key=seed)  # encrypted by EncryptedTextField
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Device]):  # ids were kept
                cursor.execute(sql)
        schema_editor.execute(f"DROP TABLE {qn(OLD_TABLE)}")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["otp_totp"])
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="otp_totp").delete()
    ContentType.objects.filter(app_label="otp_totp").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("platos", "0002_encryptedtotpdevice"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),  # LogEntry rows of otp_totp: content type set null
    ]

    operations = [migrations.RunPython(move_devices, migrations.RunPython.noop)]
