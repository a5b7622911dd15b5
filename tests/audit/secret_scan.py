"""Helper: does any audit row hold one of these secret strings, in any column?"""

from django.db import connection

from audit.models import AuditEvent


def audit_rows_containing(secrets: list[str]) -> list[tuple[int, str]]:
    """(row id, column) for every audit column whose raw database text contains a secret.

    Reads every column with raw SQL cast to text (jsonb/inet included), so nothing
    the ORM decodes or hides can slip past. Empty strings are ignored.
    """
    needles = [s for s in secrets if s]
    columns = [f.column for f in AuditEvent._meta.concrete_fields]
    qn = connection.ops.quote_name
    select = ", ".join(f"CAST({qn(c)} AS TEXT)" for c in columns)
    found = []
    with connection.cursor() as cur:
        cur.execute(f"SELECT {select} FROM {qn(AuditEvent._meta.db_table)}")  # noqa: S608
        for values in cur.fetchall():
            row = dict(zip(columns, values, strict=True))
            for column, text in row.items():
                if text is not None and any(n in str(text) for n in needles):
                    found.append((int(row["id"]), column))
    return found
