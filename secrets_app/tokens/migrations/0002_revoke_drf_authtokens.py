"""Revoke every DRF ``authtoken`` token: drop its table (keys in clear) and its bookkeeping.

``rest_framework.authtoken`` is no longer installed, so its own migrations cannot
undo it; this one removes what it left behind. Tokens cannot be carried over: their
keys have no ``plt_`` prefix, so the new scheme would not recognise them. Owners mint
new ones (``POST /agent/v1/auth/tokens/`` or ``manage.py token_create``); see README.
"""

from django.db import migrations


def drop_authtoken(apps, schema_editor):
    connection = schema_editor.connection
    tables = connection.introspection.table_names()
    # knox's own migrations create knox_authtoken even though KNOX_TOKEN_MODEL swaps it
    # for tokens.ApiToken: an empty, unused table whose FK to auth_user would block
    # flushes. Dropped with the DRF table.
    for table in ("authtoken_token", "knox_authtoken"):
        if table in tables:
            schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(table)}")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="authtoken").delete()
    ContentType.objects.filter(app_label="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0001_initial"),
        ("knox", "0009_extend_authtoken_field"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(drop_authtoken, migrations.RunPython.noop)]
