"""The round-trip suite: every path that writes message data, read back through the API
and checked in the database with raw SQL (ciphertext only, never the plaintext).

A new code path that writes messages adds its case here. "No plaintext in any log
line" is enforced for every test of this folder by ``conftest.no_plaintext_logged``;
``test_no_plaintext_in_logs_across_every_flow`` runs all flows at DEBUG on purpose.
"""

import logging

import pytest
from django.db import connection
from django.test import override_settings

from messages_app import services
from messages_app.crypto_service import MessageCryptoService
from messages_app.models import Message, SafetyEvent, Thread, ToolCall
from platos.core.envelope import is_token, token_key_id

from .conftest import K1, K2, MARK, db_pk, message_rings, secret

pytestmark = pytest.mark.django_db


def assert_ciphertext(raw_column, model, field, pk, *plaintexts, key_id=None):
    stored = raw_column(model, field, pk)
    assert is_token(stored), f"{model.__name__}.{field} is not an envelope"
    for plain in plaintexts:
        assert plain not in stored
    assert MARK not in stored
    if key_id is not None:
        assert token_key_id(stored) == key_id
    return stored


def list_messages(api, thread, **params):
    response = api.get(f"/agent/v1/threads/{thread.pk}/messages/", params)
    assert response.status_code == 200, response.content
    body = response.content.decode()
    assert "pv1:" not in body and "pv2:" not in body  # never ciphertext
    return response.json()["results"]


def test_round_trip_under_current_key(api, thread, raw_column):
    text, thinking = secret("hello"), secret("thinking")
    response = api.post(
        f"/agent/v1/threads/{thread.pk}/messages/",
        {"role": "user", "content": text, "thinking_content": thinking},
        format="json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    write_id = MessageCryptoService.status().write_key_id
    assert_ciphertext(raw_column, Message, "content", pk, text, key_id=write_id)
    assert_ciphertext(raw_column, Message, "thinking_content", pk, thinking, key_id=write_id)
    [item] = list_messages(api, thread)
    assert item["content"] == text and item["thinking_content"] == thinking
    assert item["content_error"] is None and item["key_id"] is None


def test_writes_under_next_while_current_rows_still_read(api, thread, raw_column):
    old_text, new_text = secret("under K1"), secret("under K2")
    with override_settings(PLATOS_KEYRINGS=message_rings(K1)):
        old = services.message_create(thread=thread, role="user", content=old_text)
    rings = message_rings(K1, K2)
    with override_settings(PLATOS_KEYRINGS=rings):
        status = MessageCryptoService.status()
        assert status.write_key_id == rings["messages"].next.id and status.next_key_set
        new = services.message_create(thread=thread, role="assistant", content=new_text)
        assert_ciphertext(raw_column, Message, "content", old.pk, old_text, key_id=rings["messages"].current.id)
        assert_ciphertext(raw_column, Message, "content", new.pk, new_text, key_id=rings["messages"].next.id)
        assert [m["content"] for m in list_messages(api, thread)] == [old_text, new_text]


def test_row_under_unconfigured_key_reads_as_placeholder(api, thread, raw_column):
    lost_text, fine_text = secret("written under a key now gone"), secret("fine")
    with override_settings(PLATOS_KEYRINGS=message_rings(K1)):
        lost = services.message_create(thread=thread, role="user", content=lost_text)
        lost_id = token_key_id(assert_ciphertext(raw_column, Message, "content", lost.pk, lost_text))
    with override_settings(PLATOS_KEYRINGS=message_rings(K2)):
        services.message_create(thread=thread, role="assistant", content=fine_text)
        first, second = list_messages(api, thread)  # one bad row does not break the list
    assert first["id"] == str(lost.pk)
    assert first["content"] is None and first["content_error"] == "decryption_failed"
    assert first["key_id"] == lost_id
    assert second["content"] == fine_text and second["content_error"] is None


def test_tampered_ciphertext_reads_as_placeholder_and_is_logged_without_content(api, thread, raw_column, caplog):
    text = secret("tamper with me")
    message = services.message_create(thread=thread, role="user", content=text)
    stored = assert_ciphertext(raw_column, Message, "content", message.pk, text)
    flipped = stored[:-5] + ("A" if stored[-5] != "A" else "B") + stored[-4:]
    with connection.cursor() as cur:
        cur.execute("UPDATE messages_app_message SET content = %s WHERE id = %s", [flipped, db_pk(Message, message.pk)])
    assert raw_column(Message, "content", message.pk) == flipped  # the UPDATE really hit the row
    caplog.clear()
    [item] = list_messages(api, thread)
    assert item["content"] is None and item["content_error"] == "decryption_failed"
    assert item["key_id"] == token_key_id(stored)
    warnings = [r for r in caplog.records if r.name == "messages_app.crypto"]
    assert len(warnings) == 1
    line = warnings[0].getMessage()
    assert "messages_app.Message" in line and str(message.pk) in line and token_key_id(stored) in line
    assert "authentication failed" in line
    assert MARK not in line and flipped not in line and stored not in line


def test_fork_copies_decrypt_carry_write_key_and_leave_source_untouched(api, thread, raw_column):
    texts = [secret(f"turn {i}") for i in range(4)]
    with override_settings(PLATOS_KEYRINGS=message_rings(K1)):
        source = [services.message_create(thread=thread, role="user", content=t) for t in texts]
        services.tool_call_record(message=source[1], tool_name="search", call_id="c1",
                                  arguments={"q": secret("args")}, result={"hits": [secret("result")]})
    before = {m.pk: raw_column(Message, "content", m.pk) for m in source}
    rings = message_rings(K1, K2)
    with override_settings(PLATOS_KEYRINGS=rings):
        response = api.post(f"/agent/v1/threads/{thread.pk}/fork/", {"message_id": str(source[2].pk)}, format="json")
        assert response.status_code == 201, response.content
        fork = Thread.objects.get(pk=response.json()["id"])
        assert fork.forked_from_thread_id == thread.pk and fork.forked_from_message_id == source[2].pk
        copies = list(fork.messages.order_by("sequence"))
        assert [c.content for c in copies] == texts[:3]
        write_id = rings["messages"].next.id
        for copy, text in zip(copies, texts, strict=False):
            assert_ciphertext(raw_column, Message, "content", copy.pk, text, key_id=write_id)
        [call] = ToolCall.objects.filter(message__thread=fork)
        assert call.arguments == {"q": secret("args")} and call.result == {"hits": [secret("result")]}
        assert_ciphertext(raw_column, ToolCall, "arguments", call.pk, secret("args"), key_id=write_id)
        assert_ciphertext(raw_column, ToolCall, "result", call.pk, secret("result"), key_id=write_id)
        assert [m["content"] for m in list_messages(api, fork)] == texts[:3]
    # The source: same rows, same bytes, still all active.
    assert {m.pk: raw_column(Message, "content", m.pk) for m in source} == before
    assert list(thread.messages.values_list("status", flat=True)) == ["active"] * 4


def test_fork_refuses_to_copy_an_undecryptable_message(api, thread, raw_column):
    with override_settings(PLATOS_KEYRINGS=message_rings(K1)):
        first = services.message_create(thread=thread, role="user", content=secret("lost"))
    with override_settings(PLATOS_KEYRINGS=message_rings(K2)):
        response = api.post(f"/agent/v1/threads/{thread.pk}/fork/", {"message_id": str(first.pk)}, format="json")
    assert response.status_code == 400 and "message_id" in response.json()
    assert Thread.objects.count() == 1


def test_edit_and_rerun_new_revision_encrypted_old_still_readable(api, thread, raw_column):
    first = services.message_create(thread=thread, role="user", content=secret("original question"))
    answer = services.message_create(thread=thread, role="assistant", content=secret("answer"))
    edited = secret("edited question")
    response = api.post(f"/agent/v1/messages/{first.pk}/edit/", {"content": edited}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["revision"] == 2 and body["edit_parent"] == str(first.pk) and body["content"] == edited
    assert body["pending_rerun"]
    new_pk = body["id"]
    assert_ciphertext(raw_column, Message, "content", new_pk, edited,
                      key_id=MessageCryptoService.status().write_key_id)
    assert_ciphertext(raw_column, Message, "content", first.pk, secret("original question"))
    # Active view: only the new revision. With include_edited: everything, still readable.
    assert [m["content"] for m in list_messages(api, thread)] == [edited]
    history = list_messages(api, thread, include_edited="true")
    assert [(m["content"], m["status"], m["revision"]) for m in history] == [
        (secret("original question"), "edited_out", 1),
        (secret("answer"), "edited_out", 1),
        (edited, "active", 2),
    ]
    assert Message.objects.get(pk=answer.pk).status == "edited_out"


def test_tool_calls_and_safety_events_round_trip(api, thread, raw_column):
    message = services.message_create(thread=thread, role="assistant", content=secret("calling a tool"))
    args, result = {"query": secret("tool args"), "n": 0, "ok": False}, [secret("tool result"), {}]
    call = services.tool_call_record(message=message, tool_name="lookup", call_id="call_1",
                                     arguments=args, result=result)
    assert_ciphertext(raw_column, ToolCall, "arguments", call.pk, secret("tool args"))
    assert_ciphertext(raw_column, ToolCall, "result", call.pk, secret("tool result"))
    [item] = list_messages(api, thread)
    assert item["tool_calls"][0]["arguments"] == args and item["tool_calls"][0]["result"] == result

    detail, meta = secret("pii detail"), {"span": secret("pii meta"), "score": 0.9}
    response = api.post("/agent/v1/safety-events/", {
        "thread": str(thread.pk), "message": str(message.pk), "detector": "pii", "action": "redact",
        "severity": "high", "detail": detail, "meta": meta,
    }, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert_ciphertext(raw_column, SafetyEvent, "detail", pk, detail)
    assert_ciphertext(raw_column, SafetyEvent, "meta", pk, secret("pii meta"))
    listed = api.get("/agent/v1/safety-events/").json()["results"]
    assert listed[0]["detail"] == detail and listed[0]["meta"] == meta


def test_ciphertext_swapped_between_columns_is_refused(api, thread, raw_column):
    message = services.message_create(
        thread=thread, role="user", content="harmless", thinking_content=secret("private thinking")
    )
    event = services.safety_event_record(thread=thread, detector="pii", action="flag", severity="low",
                                         detail="harmless detail")
    stolen = assert_ciphertext(raw_column, Message, "thinking_content", message.pk, secret("private thinking"))
    with connection.cursor() as cur:
        cur.execute("UPDATE messages_app_message SET content = %s WHERE id = %s",
                    [stolen, db_pk(Message, message.pk)])
        cur.execute("UPDATE messages_app_safetyevent SET detail = %s WHERE id = %s",
                    [stolen, db_pk(SafetyEvent, event.pk)])
    assert raw_column(Message, "content", message.pk) == stolen
    [item] = list_messages(api, thread)
    assert item["content"] is None and item["content_error"] == "decryption_failed"
    assert item["thinking_content"] == secret("private thinking")  # the column it belongs to still reads
    [listed] = api.get("/agent/v1/safety-events/").json()["results"]
    assert listed["detail"] is None and listed["detail_error"] == "decryption_failed"


def test_pasted_envelope_is_stored_as_text_not_decrypted(api, thread, raw_column):
    # full_clean would decrypt envelope-shaped input through the field's to_python:
    # a decryption oracle. The services store such input as the literal text it is.
    original = services.message_create(thread=thread, role="user", content=secret("victim"))
    stolen = raw_column(Message, "content", original.pk)
    response = api.post(f"/agent/v1/threads/{thread.pk}/messages/", {"role": "user", "content": stolen},
                        format="json")
    assert response.status_code == 201, response.content
    assert response.json()["content"] == stolen
    assert MARK not in response.content.decode()
    assert Message.objects.get(pk=response.json()["id"]).content == stolen


def test_no_plaintext_in_logs_across_every_flow(api, thread, caplog):
    caplog.set_level(logging.DEBUG)
    with override_settings(PLATOS_KEYRINGS=message_rings(K1)):
        gone = services.message_create(thread=thread, role="user", content=secret("gone"))
    with override_settings(PLATOS_KEYRINGS=message_rings(K2)):  # K1 rows no longer read
        m = services.message_create(thread=thread, role="user", content=secret("log 1"),
                                    thinking_content=secret("log think"))
        services.tool_call_record(message=m, tool_name="t", call_id="1", arguments={"a": secret("log args")})
        services.safety_event_record(thread=thread, message=m, detector="injection", action="block",
                                     severity="critical", detail=secret("log detail"), meta=[secret("log meta")])
        api.post(f"/agent/v1/messages/{m.pk}/edit/", {"content": secret("log edit")}, format="json")
        list_messages(api, thread, include_edited="true")
        api.get("/agent/v1/safety-events/")
        api.post(f"/agent/v1/threads/{thread.pk}/fork/", {"message_id": str(gone.pk)}, format="json")
        api.post(f"/agent/v1/threads/{thread.pk}/messages/", {"role": "nope", "content": secret("bad")},
                 format="json")
    assert any(r.name == "messages_app.crypto" for r in caplog.records)  # the bad row was logged...
    for record in caplog.records:
        assert MARK not in record.getMessage()  # ...and no line holds plaintext
