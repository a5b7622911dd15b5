"""``manage.py env_exec --url URL --environment ENV -- CMD ARGS…``: run a command with an
environment's variables injected, as ``doppler run`` / ``infisical run`` do.

The service account's token comes from ``PLATOS_TOKEN``. The variables are fetched
from the runtime API (``GET {URL}/agent/v1/runtime/environments/{ENV}/env``, stdlib
``urllib``), kept in memory only and handed to the child as its environment on top of
the inherited one; nothing is written to disk or printed. The child's exit code is
this command's exit code (128 + N when a signal N ended it).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from django.core.management.base import BaseCommand, CommandError
from django.views.decorators.debug import sensitive_variables


class Command(BaseCommand):
    help = "Run CMD with the variables of a Platos environment (service account token in PLATOS_TOKEN)."
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="base URL of the Platos server, e.g. https://platos.example")
        parser.add_argument("--environment", required=True, help="environment slug (of the account's project)")
        parser.add_argument("--purpose", default="env_exec", help="kept in each audit row (X-Platos-Purpose)")
        parser.add_argument("--timeout", type=float, default=30.0)
        parser.add_argument("command", nargs="+", help="the command and its arguments (after --)")

    @sensitive_variables("token", "variables")
    def handle(self, *args, url, environment, purpose, timeout, command, **options):
        token = os.environ.get("PLATOS_TOKEN", "")
        if not token:
            raise CommandError("PLATOS_TOKEN is not set (a service account's plt_ token).")
        variables = fetch_variables(url=url, environment=environment, token=token, purpose=purpose, timeout=timeout)
        try:
            completed = subprocess.run(command, env={**os.environ, **variables}, check=False)  # noqa: S603
        except FileNotFoundError:
            raise CommandError(f"command not found: {command[0]}") from None
        code = completed.returncode
        raise SystemExit(128 - code if code < 0 else code)


@sensitive_variables("token", "body")
def fetch_variables(*, url: str, environment: str, token: str, purpose: str, timeout: float) -> dict[str, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise CommandError("--url must be an http(s) URL")
    endpoint = (f"{url.rstrip('/')}/agent/v1/runtime/environments/"
                f"{urllib.parse.quote(environment, safe='')}/env")
    request = urllib.request.Request(endpoint, headers={  # noqa: S310 (scheme checked above)
        "Authorization": f"Bearer {token}", "X-Platos-Purpose": purpose, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        detail = ""
        try:
            detail = json.load(exc).get("detail", "")
        except (ValueError, AttributeError):
            pass
        raise CommandError(f"{endpoint} answered {exc.code}: {detail}"[:500]) from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise CommandError(f"cannot reach {parts.scheme}://{parts.netloc}: {exc}") from None
    variables = body.get("variables") if isinstance(body, dict) else None
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise CommandError("the server's answer has no variables")
    return variables
