"""key_status: which keys are configured, which key ids the data is under, what is safe to drop."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from audit.models import AuditEvent
from platos.core.envelope import ROW_VERSION, VERSION, legacy_plaintext_allowed
from platos.core.keys import KEYRING_VARIABLES
from platos.rotation.canary import canary_state
from platos.rotation.columns import LEGACY, by_key_id
from platos.rotation.engine import DEFAULT_BATCH_SIZE, keyring_columns, verify_column
from secrets_app.key_age import key_age_report, key_age_warnings


def key_status(*, using: str = DEFAULT_DB_ALIAS, verify: bool = False) -> dict[str, Any]:
    """Per keyring: configured key ids, rows per key id per column, legacy rows, drop verdicts,
    and per column how many rows are column-bound (pv1) and row-bound (pv2).

    Reads ciphertext heads only (SQL ``GROUP BY`` over version and key id): nothing is
    decrypted but the canary. ``verify``: also decrypt every row in its row (its identity
    read with it) and count those that do not open there, per reason (a pv2 value moved
    to another row, or altered, fails authentication). Never holds key material.
    """
    rings = []
    for name, ring in settings.PLATOS_KEYRINGS.items():
        cur_var, next_var = KEYRING_VARIABLES[name]
        keys = [{"key_id": ring.current.id, "variable": cur_var, "writes": ring.next is None}]
        if ring.next is not None:
            keys.append({"key_id": ring.next.id, "variable": next_var, "writes": True})
        columns = []
        totals: dict[str, int] = {}
        bound_totals = {"column_bound": 0, "row_bound": 0}
        for column in keyring_columns(name, using=using):
            heads = column.counts_by_head()
            counts = by_key_id(heads)
            entry = {"column": column.label, "context": column.context, "rows": counts,
                     "row_bound_column": column.row_bound,
                     "column_bound": sum(n for (v, _), n in heads.items() if v == VERSION),
                     "row_bound": sum(n for (v, _), n in heads.items() if v == ROW_VERSION)}
            if verify:
                entry["verify"] = _verify(column)
            columns.append(entry)
            bound_totals["column_bound"] += entry["column_bound"] if column.row_bound else 0
            bound_totals["row_bound"] += entry["row_bound"]
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
                # pv1 rows of row-bound columns: the rotation command re-seals them row-bound
                "column_bound_rows": bound_totals["column_bound"],
                "row_bound_rows": bound_totals["row_bound"],
                "canary": {"status": canary.status, "key_id": canary.key_id},
                "last_run": last_rotation_run(name),
            }
        )
    return {"keyrings": rings, "legacy_plaintext_mode": legacy_plaintext_allowed(),
            "key_age": key_age_report(using=using)}


def _verify(column) -> dict[str, Any]:
    """Decrypt every row of ``column`` in its row: how many do not open there, and why."""
    reasons: dict[str, int] = {}

    def failed(_column, _pk, reason: str) -> None:
        reasons[reason] = reasons.get(reason, 0) + 1

    verify_column(column, key_id=None, batch_size=DEFAULT_BATCH_SIZE, on_failure=failed)
    return {"failed": sum(reasons.values()), "reasons": reasons}


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
            bound = f" (column-bound {col['column_bound']}, row-bound {col['row_bound']})" if col[
                "row_bound_column"] and col["rows"] else ""
            lines.append(f"  {col['column']}: {counts}{bound}")
            if "verify" in col:
                why = ", ".join(f"{reason}: {n}" for reason, n in sorted(col["verify"]["reasons"].items()))
                lines.append(f"    verify: {col['verify']['failed']} do not decrypt in their row"
                             f"{f' ({why})' if why else ''}")
        lines.append(f"  legacy plaintext rows: {ring['legacy_plaintext_rows']}")
        lines.append(f"  column-bound rows left: {ring['column_bound_rows']} (run the rotation command to re-seal "
                     "them row-bound)" if ring["column_bound_rows"] else "  column-bound rows left: 0")
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
