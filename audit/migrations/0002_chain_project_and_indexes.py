"""Hash chain (prev_hash/row_hash), the project column, and indexes for the console's filters.

The single-column indexes on action and scope are dropped: the composite
(action, ts) / (scope, ts) indexes serve those lookups, and every audit write
pays for each index.

The backfill walks existing rows in id order and chains them (none exist in
practice: this ships before the first audit row is written anywhere).
"""

from django.db import migrations, models

GENESIS_HASH = "0" * 64


def backfill(apps, schema_editor):
    from audit import chain

    AuditEvent = apps.get_model("audit", "AuditEvent")
    prev = GENESIS_HASH
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:2000])
        if not batch:
            break
        for row in batch:
            row.project = row.scope.split("/", 1)[0][:63]
            row.prev_hash = prev
            row.row_hash = chain.row_hash({n: getattr(row, n) for n in chain.HASHED_FIELDS}, prev)
            prev = row.row_hash
        AuditEvent.objects.bulk_update(batch, ["project", "prev_hash", "row_hash"])
        last_id = batch[-1].id


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="project",
            field=models.CharField(blank=True, default="", editable=False, help_text="project part of scope",
                                   max_length=63),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", editable=False, help_text="row_hash of the previous row",
                                   max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="row_hash",
            field=models.CharField(default="", editable=False, help_text="SHA-256 of this row + prev_hash",
                                   max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        # (action, ts) and (scope, ts) already serve lookups on action / scope alone.
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(help_text="dotted slug, e.g. secret.read", max_length=64),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="scope",
            field=models.CharField(blank=True, help_text="project/environment", max_length=200),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["project", "ts"], name="audit_project_ts"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["success", "ts"], name="audit_success_ts"),
        ),
    ]
