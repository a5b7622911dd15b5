"""A message envelope copied by SQL into another message (another thread, too) is refused there.

Message, tool-call and safety-event values are row-bound (pv2) to their UUID: moved, they
read as the API's placeholder (``content_error: decryption_failed``), never ciphertext,
and the list around them still works.
"""

import pytest
from django.db import connection

from messages_app import services
from messages_app.models import Message, SafetyEvent, ToolCall
from platos.core.envelope import token_version
from tests.factories import ThreadFactory

from .conftest import db_pk, secret

pytestmark = pytest.mark.django_db


def move(model, column, source, target):
    table = model._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {table} WHERE id = %s", [db_pk(model, source.pk)])  # noqa: S608
        token = cur.fetchone()[0]
        cur.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [token, db_pk(model, target.pk)])  # noqa: S608
        assert cur.rowcount == 1
    assert token_version(token) == "pv2"
    return token


@pytest.mark.parametrize("same_thread", [True, False])
def test_content_moved_to_another_message_reads_as_the_placeholder(api, thread, staff, acme, same_thread):
    source = services.message_create(thread=thread, role="user", content=secret("source"))
    where = thread if same_thread else ThreadFactory(title="other", created_by=staff, project=acme)
    target = services.message_create(thread=where, role="user", content=secret("target"))
    token = move(Message, "content", source, target)
    response = api.get(f"/agent/v1/threads/{where.pk}/messages/")
    assert response.status_code == 200
    item = next(m for m in response.json()["results"] if m["id"] == str(target.pk))
    assert item["content"] is None and item["content_error"] == "decryption_failed"
    assert token not in response.content.decode()
    assert Message.objects.get(pk=source.pk).content == secret("source")


def test_tool_call_and_safety_event_values_moved_between_rows_are_refused(thread):
    message = services.message_create(thread=thread, role="assistant", content=secret("m"))
    a = services.tool_call_record(message=message, tool_name="t", call_id="a", arguments={"q": secret("a")})
    b = services.tool_call_record(message=message, tool_name="t", call_id="b", arguments={"q": secret("b")})
    move(ToolCall, "arguments", a, b)
    from platos.core.fields import Undecryptable

    assert isinstance(ToolCall.objects.get(pk=b.pk).arguments, Undecryptable)
    assert ToolCall.objects.get(pk=a.pk).arguments == {"q": secret("a")}
    e1, e2 = (SafetyEvent.objects.create(thread=thread, detector="pii", action="flag", severity="low",
                                         detail=secret(f"e{i}")) for i in range(2))
    move(SafetyEvent, "detail", e1, e2)
    assert isinstance(SafetyEvent.objects.get(pk=e2.pk).detail, Undecryptable)
