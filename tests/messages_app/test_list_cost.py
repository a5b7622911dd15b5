"""What a page of messages costs in round trips to the database (pinned: the list's hot path)."""

import pytest

from messages_app import services

pytestmark = pytest.mark.django_db


def test_a_page_without_tool_calls_skips_the_tool_call_query(api, thread, django_assert_num_queries):
    for i in range(20):
        services.message_create(thread=thread, role="user", content=f"message {i}")
    with django_assert_num_queries(4):  # the permission check, the thread, the page; no tool-call query
        response = api.get(f"/agent/v1/threads/{thread.pk}/messages/?limit=100")
    assert [m["tool_calls"] for m in response.json()["results"]] == [[]] * 20


def test_only_the_messages_with_tool_calls_are_looked_up(api, thread, django_assert_num_queries):
    plain = services.message_create(thread=thread, role="user", content="no tools")
    used = services.message_create(thread=thread, role="assistant", content="calls a tool")
    services.tool_call_record(message=used, tool_name="search", call_id="c1", arguments={"q": "x"})
    with django_assert_num_queries(5):
        results = api.get(f"/agent/v1/threads/{thread.pk}/messages/").json()["results"]
    calls = {m["id"]: [c["call_id"] for c in m["tool_calls"]] for m in results}
    assert calls == {str(plain.pk): [], str(used.pk): ["c1"]}
