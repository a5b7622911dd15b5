"""The ``project/environment`` argument of the secrets commands."""

from django.core.management.base import CommandError

from secrets_app.models import Environment


def environment_from_scope(scope: str) -> Environment:
    project, _, slug = scope.partition("/")
    env = Environment.objects.select_related("project").filter(project__slug=project, slug=slug).first()
    if env is None:
        raise CommandError(f"no environment {scope!r} (write it project/environment)", returncode=2)
    return env
