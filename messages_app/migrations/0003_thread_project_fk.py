"""Threads scoped by foreign keys instead of slugs.

A thread whose ``project_slug`` names an existing project gets that project (and the
environment its ``environment_slug`` names in it, when there is one); a slug that names
nothing leaves the thread unscoped, visible to superusers only. Reversible: the slugs
are written back from the keys.
"""

import django.db.models.deletion
from django.db import migrations, models


def slugs_to_keys(apps, schema_editor):
    Thread = apps.get_model("messages_app", "Thread")
    Project = apps.get_model("secrets_app", "Project")
    Environment = apps.get_model("secrets_app", "Environment")
    projects = dict(Project.objects.values_list("slug", "pk"))
    environments = {(p, s): pk for p, s, pk in Environment.objects.values_list("project_id", "slug", "pk")}
    for thread in Thread.objects.exclude(project_slug=None).only("pk", "project_slug", "environment_slug").iterator():
        project_id = projects.get(thread.project_slug)
        environment_id = environments.get((project_id, thread.environment_slug)) if project_id else None
        if project_id is not None:
            Thread.objects.filter(pk=thread.pk).update(project_id=project_id, environment_id=environment_id)


def keys_to_slugs(apps, schema_editor):
    Thread = apps.get_model("messages_app", "Thread")
    for thread in Thread.objects.exclude(project=None).select_related("project", "environment").iterator():
        Thread.objects.filter(pk=thread.pk).update(
            project_slug=thread.project.slug, environment_slug=thread.environment.slug if thread.environment else None)


class Migration(migrations.Migration):

    dependencies = [
        ('messages_app', '0002_pending_rerun_cancelled'),
        ('secrets_app', '0005_membership_viewer_role'),
    ]

    operations = [
        migrations.AddField(
            model_name='thread',
            name='environment',
            field=models.ForeignKey(blank=True, help_text="an environment of the thread's project", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='threads', to='secrets_app.environment'),
        ),
        migrations.AddField(
            model_name='thread',
            name='project',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='threads', to='secrets_app.project'),
        ),
        migrations.RunPython(slugs_to_keys, keys_to_slugs),
        migrations.RemoveField(
            model_name='thread',
            name='environment_slug',
        ),
        migrations.RemoveField(
            model_name='thread',
            name='project_slug',
        ),
    ]
