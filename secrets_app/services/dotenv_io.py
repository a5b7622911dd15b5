""".env import and export of one environment's variables.

Parsing is python-dotenv's (``dotenv_values`` on a stream for the values, its
``parse_stream`` for the line numbers of what it could not parse and of duplicate
keys): comments, ``export``, single/double quotes, escapes and newlines inside double
quotes, ``KEY=``. Reports name variables and lines, never values.
"""

from __future__ import annotations

import io

from django.core.exceptions import ValidationError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables
from dotenv import dotenv_values
from dotenv.parser import parse_stream

from audit.models import AuditEvent
from audit.services import audit_record
from platos.core.errors import ApplicationError
from platos.core.fields import Undecryptable
from platos.core.logging import register_secret
from secrets_app.boundaries import BoundaryError
from secrets_app.models import Environment, EnvironmentVariable, ProviderKey, env_name_validator
from secrets_app.services.env_vars import clean_reason, env_var_create, env_var_update, validate_secret_text

ON_CONFLICT = ("fail", "skip", "overwrite")


class ImportRefused(ApplicationError):
    """An import with ``on_conflict=fail`` met an invalid line or an existing name: nothing was written."""

    status_code = 400
    code = "import_refused"

    def __init__(self, report: dict) -> None:
        super().__init__("nothing was imported: fix the invalid entries (or choose on_conflict=skip/overwrite)")
        self.report = report

    def public_extra(self) -> dict:
        return {"report": self.report}


@sensitive_variables("text", "values")
def dotenv_parse(text: str) -> tuple[list[tuple[int, str, str]], list[dict]]:
    """``([(line, name, value)], [invalid])`` from .env text; each invalid entry is ``{line, name, error}``."""
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    entries: list[tuple[int, str, str]] = []
    invalid: list[dict] = []
    first_line: dict[str, int] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            invalid.append({"line": line, "name": "", "error": "cannot be parsed as NAME=value"})
            continue
        name = binding.key
        if name is None:
            continue  # a comment or a blank line
        if name in first_line:
            invalid.append({"line": line, "name": name, "error": f"duplicate of line {first_line[name]}"})
            continue
        first_line[name] = line
        if binding.value is None:
            invalid.append({"line": line, "name": name, "error": "has no '=' (write NAME= for an empty value)"})
            continue
        # The value as dotenv_values decodes it; duplicates were refused above, so it is this line's.
        entries.append((line, name, values[name]))
    return entries, invalid


def _check(line: int | None, name: str, value) -> dict | None:
    try:
        env_name_validator(name)
        if len(name) > 128:
            raise ValidationError("at most 128 characters")
        validate_secret_text(value)
    except ValidationError as exc:
        return {"line": line, "name": name, "error": "; ".join(exc.messages)}
    return None


@sensitive_variables("dotenv", "variables", "entries")
@transaction.atomic
def env_vars_import(
    *, environment: Environment, actor, dotenv: str | None = None, variables: dict | None = None,
    on_conflict: str = "fail", dry_run: bool = False, request=None,
) -> dict:
    """Import ``dotenv`` text or a ``variables`` mapping into ``environment``.

    ``on_conflict``: ``fail`` (an existing name is an error), ``skip`` or ``overwrite``
    (a new version). Returns ``{"created", "updated", "skipped", "invalid", "dry_run"}``
    (names; invalid entries with line numbers). With ``fail``, any invalid entry raises
    ImportRefused and nothing is written. One transaction; one audit row per variable.
    """
    if on_conflict not in ON_CONFLICT:
        raise ValidationError({"on_conflict": f"one of {', '.join(ON_CONFLICT)}"})
    if (dotenv is None) == (variables is None):
        raise ValidationError({"non_field_errors": ["send either 'dotenv' or 'variables'"]})
    if dotenv is not None:
        entries, invalid = dotenv_parse(dotenv)
    else:
        entries, invalid = [(None, str(k), v) for k, v in variables.items()], []
    existing = {v.name: v for v in EnvironmentVariable.objects.filter(environment=environment).defer("value")}
    owned = set(ProviderKey.objects.filter(environment=environment).values_list("env_var_name", flat=True))
    report = {"created": [], "updated": [], "skipped": [], "invalid": invalid, "dry_run": dry_run}
    todo = []
    for line, name, value in entries:
        problem = _check(line, name, value)
        if problem is None and name in existing:
            if on_conflict == "fail":
                problem = {"line": line, "name": name, "error": "already exists (on_conflict=fail)"}
            elif on_conflict == "skip":
                report["skipped"].append(name)
                continue
            elif name in owned:
                problem = {"line": line, "name": name, "error": "holds a provider key; use the provider-key actions"}
        if problem is not None:
            invalid.append(problem)
            continue
        report["updated" if name in existing else "created"].append(name)
        todo.append((name, value))
    invalid.sort(key=lambda p: (p["line"] is None, p["line"] or 0, p["name"]))
    if invalid and on_conflict == "fail":
        raise ImportRefused({**report, "created": [], "updated": []})
    if dry_run:
        return report
    for name, value in todo:
        if name in existing:
            env_var_update(variable=existing[name], value=value, actor=actor, request=request)
        else:
            env_var_create(environment=environment, name=name, value=value, actor=actor, request=request)
    return report


def dotenv_quote(value: str) -> str:
    """A double-quoted .env value that python-dotenv reads back as exactly ``value``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


@sensitive_variables("values", "lines")
def env_vars_export(*, environment: Environment, reason: str, actor, request=None) -> str:
    """The environment's variables as .env text, audited as one ``secret.export`` row naming them.

    Provider-key secrets are write-only and unset variables have nothing to export: both
    are left out (the row names them). A value that cannot be decrypted stops the export
    (409, audited): an export must not silently lose a secret.
    """
    reason = clean_reason(reason)
    with transaction.atomic():  # the audit row commits even when the export is refused
        owned = set(ProviderKey.objects.filter(environment=environment).values_list("env_var_name", flat=True))
        rows = EnvironmentVariable.objects.filter(environment=environment).exclude(name__in=owned).order_by("name")
        values, unset, broken = [], [], []
        for var in rows:
            if var.value is None:
                unset.append(var.name)
            elif isinstance(var.value, Undecryptable):
                broken.append(var.name)
            else:
                values.append((var.name, var.value))
        audit_record(
            action=AuditEvent.Action.SECRET_EXPORT, success=not broken, actor=actor, key="",
            scope=environment.scope, project_id=environment.project_id, reason=reason, request=request,
            extra={"variables": [n for n, _ in values], "left_out_provider_keys": sorted(owned), "unset": unset,
                   "undecryptable": broken},
        )
    if broken:
        raise BoundaryError("decryption_failed", f"cannot be decrypted: {', '.join(broken)}; nothing was exported")
    trailing = [name for name, value in values if value.endswith("\\")]
    if trailing:
        # python-dotenv reads `"...\\"` as an escaped quote that runs on into the next line, so
        # such a value would not read back as itself: refuse rather than write a corrupt file.
        raise ValidationError({"variables": [f"{', '.join(trailing)}: a value ending in a backslash cannot be "
                                             "written so that .env parsers read it back; nothing was exported"]})
    lines = []
    for name, value in values:
        register_secret(value)
        lines.append(f"{name}={dotenv_quote(value)}\n")
    return "".join(lines)
