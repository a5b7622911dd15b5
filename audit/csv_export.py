"""Streaming CSV of audit rows, shared by the API (?format=csv) and the admin export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from audit.models import AuditEvent
from audit.serializers import AuditEventOutputSerializer

COLUMNS = AuditEventOutputSerializer.Meta.fields
# A cell starting with one of these is a formula to a spreadsheet (CSV injection):
# prefix it with a quote so it is shown as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(value) -> str:
    """The CSV text of one JSON value of the API (same content, spreadsheet-safe)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    else:
        text = str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text


def csv_lines(rows: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    serializer = AuditEventOutputSerializer()
    for row in rows:
        data = serializer.to_representation(row)
        yield writer.writerow([csv_cell(data[name]) for name in COLUMNS])


def csv_response(rows: Iterable[AuditEvent]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
