"""key_status: which keys are configured, which key ids the data is under, what is safe to drop."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from audit.models import AuditEvent
from platos.core.envelope import legacy_plaintext_allowed
from platos.core.keys import KEYRING_VARIABLES
from platos.rotation.canary import canary_state
from platos.rotation.columns import LEGACY
from platos.rotation.engine import keyring_columns
from secrets_app.key_age import key_age_report, key_age_warnings


def key_status(*, using: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    """Per keyring: configured key ids, rows per key id per column, legacy rows, drop verdicts.

    Reads ciphertext heads only (SQL ``GROUP BY`` over the key id): nothing is decrypted
    but the canary. Never holds key material: keys appear as their ids.
    """
    rings = []
    for name, ring in settings.PLATOS_KEYRINGS.items():
        cur_var, next_var = KEYRING_VARIABLES[name]
        keys = [{"key_id": ring.current.id, "variable": cur_var, "writes": ring.next is None}]
        if ring.next is not None:
            keys.append({"key_id": ring.next.id, "variable": next_var, "writes": True})
        columns = []
        totals: dict[str, int] = {}
        for column in keyring_columns(name, using=using):
            counts = column.counts_by_key_id()
            columns.append({"column": column.label, "context": column.context, "rows": counts})
            for kid, n in counts.items():
                totals[kid] = totals.get(kid, 0) + n
        configured = {k["key_id"] for k in keys}
        verdicts = []
        for key in keys:
            rows = totals.get(key["key_id"], 0)
            if key["writes"]:
                safe, why = False, "it is the write key"
            elif rows:
                safe, why = False, f"{rows} rows are still under it: run the rotation command"
            else:
                safe, why = True, f"no row is under it; set {cur_var} to the {next_var} key and drop {next_var}"
            verdicts.append({"key_id": key["key_id"], "variable": key["variable"], "safe": safe, "why": why})
        canary = canary_state(name, using=using)
        rings.append(
            {
                "keyring": name,
                "keys": keys,
                "columns": columns,
                "rows_per_key_id": totals,
                "legacy_plaintext_rows": totals.get(LEGACY, 0),
                "unconfigured_key_ids": {
                    kid: n for kid, n in totals.items() if kid not in configured and kid != LEGACY
                },
                "safe_to_drop": verdicts,
                "canary": {"status": canary.status, "key_id": canary.key_id},
                "last_run": last_rotation_run(name),
            }
        )
    return {"keyrings": rings, "legacy_plaintext_mode": legacy_plaintext_allowed(),
            "key_age": key_age_report(using=using)}


def last_rotation_run(keyring: str) -> dict[str, Any] | None:
    """The keyring's latest rotation run, from its audit rows: None if it never ran.

    state: ``finished``, ``rows left`` (some rows could not be decrypted), ``interrupted``
    (the database connection was lost; the command recorded it on reconnecting) or
    ``unfinished``: a start row with no end row, the process was killed (or is still
    running). Interrupted and unfinished runs lost nothing: run the command again.
    """
    runs = AuditEvent.objects.filter(action=AuditEvent.Action.KEYS_ROTATION_RUN, subject_id=keyring)
    start = runs.filter(extra__phase="start").order_by("-id").first()
    if start is None:
        return None
    ends = runs.filter(extra__phase="end", id__gt=start.id)
    if run_id := start.extra.get("run"):
        ends = ends.filter(extra__run=run_id)
    end = ends.order_by("id").first()
    if end is None:
        state = "unfinished"
    else:
        state = end.extra.get("outcome") or ("finished" if end.success else "rows left")
    return {"state": state, "started": start.ts.isoformat(), "run": start.extra.get("run", ""),
            "ended": end.ts.isoformat() if end else None}


def render_text(status: dict[str, Any]) -> str:
    lines = []
    for ring in status["keyrings"]:
        lines.append(f"Keyring '{ring['keyring']}'")
        for key in ring["keys"]:
            lines.append(f"  key id {key['key_id']}  {key['variable']}{'  (writes)' if key['writes'] else ''}")
        canary = ring["canary"]
        suffix = f" (key id {canary['key_id']})" if canary["key_id"] else ""
        lines.append(f"  canary: {canary['status']}{suffix}")
        for col in ring["columns"]:
            counts = ", ".join(f"{kid}: {n}" for kid, n in sorted(col["rows"].items())) or "no rows"
            lines.append(f"  {col['column']}: {counts}")
        lines.append(f"  legacy plaintext rows: {ring['legacy_plaintext_rows']}")
        run = ring["last_run"]
        if run is not None:
            again = ": nothing is lost, run the rotation command again" if run["state"] in (
                "interrupted", "unfinished") else ""
            lines.append(f"  last rotation run: {run['state']} (started {run['started']}){again}")
        for kid, n in sorted(ring["unconfigured_key_ids"].items()):
            lines.append(f"  WARNING: {n} rows under key id {kid}, which is not configured (unreadable)")
        for verdict in ring["safe_to_drop"]:
            lines.append(
                f"  safe to drop {verdict['key_id']}: {'yes' if verdict['safe'] else 'no'} ({verdict['why']})"
            )
    age = status.get("key_age")
    if age is not None:
        lines.append(f"Provider-key age (rotate after {age['rotate_after_days']} days)")
        for kind, label in (("provider_keys", "provider keys"), ("variables", "other provider-key variables")):
            lines.append(f"  {label}: {age[kind]['checked']}, {len(age[kind]['due'])} due for rotation")
        lines.extend(f"  WARNING: {line}" for line in key_age_warnings(age))
    return "\n".join(lines) + "\n"
