"""The REST API: shapes, 400/404, auth, pagination, include_edited, fork, edit, safety-event filters."""

import datetime as dt
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from messages_app import services
from messages_app.models import Message, PendingRerun, SafetyEvent, Thread
from secrets_app.tokens.services import token_create

from .conftest import secret

pytestmark = pytest.mark.django_db


def test_create_list_and_get_threads(api, staff):
    response = api.post("/agent/v1/threads/", {"title": "hello", "project": "acme"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "hello" and body["project"] == "acme" and body["created_by"] == staff.pk
    assert uuid.UUID(body["id"])
    listed = api.get("/agent/v1/threads/").json()
    assert set(listed) == {"results", "next"} and listed["next"] is None
    assert [t["id"] for t in listed["results"]] == [body["id"]]
    assert api.get(f"/agent/v1/threads/{body['id']}/").json() == body


@pytest.mark.parametrize(
    "url,payload,field",
    [
        ("/agent/v1/threads/", {}, "title"),
        ("/agent/v1/threads/", {"title": "x" * 201}, "title"),
        ("/agent/v1/threads/", {"title": "t", "project": "not a slug"}, "project"),
        ("THREAD/messages/", {"role": "robot", "content": "x"}, "role"),
        ("THREAD/messages/", {"role": "user"}, "content"),
        ("THREAD/messages/", {"role": "user", "content": 12}, "content"),
        ("THREAD/fork/", {"message_id": "nope"}, "message_id"),
        ("THREAD/fork/", {"message_id": str(uuid.uuid4())}, "message_id"),
        ("/agent/v1/safety-events/", {"thread": "THREAD_ID", "detector": "x", "action": "flag",
                                      "severity": "low"}, "detector"),
        ("/agent/v1/safety-events/", {"thread": str(uuid.uuid4()), "detector": "pii", "action": "flag",
                                      "severity": "low"}, "thread"),
        ("/agent/v1/safety-events/", {"thread": "THREAD_ID", "detector": "pii", "action": "flag",
                                      "severity": "low", "user": 999999}, "user"),
        ("/agent/v1/safety-events/", {"thread": "THREAD_ID", "message": str(uuid.uuid4()), "detector": "pii",
                                      "action": "flag", "severity": "low"}, "message"),
    ],
)
def test_bad_input_is_a_400_with_field_errors(api, thread, url, payload, field):
    url = url.replace("THREAD", f"/agent/v1/threads/{thread.pk}")
    payload = {k: (str(thread.pk) if v == "THREAD_ID" else v) for k, v in payload.items()}
    response = api.post(url, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_bad_query_parameters_are_400(api, thread):
    assert api.get(f"/agent/v1/threads/{thread.pk}/messages/?include_edited=maybe").status_code == 400
    assert "limit" in api.get(f"/agent/v1/threads/{thread.pk}/messages/?limit=0").json()
    assert api.get("/agent/v1/threads/?limit=501").status_code == 400
    for query in ("detector=nope", "thread=xyz", "created_after=yesterday", "user=abc",
                  "created_after=2030-01-02T00:00:00Z&created_before=2030-01-01T00:00:00Z"):
        assert api.get(f"/agent/v1/safety-events/?{query}").status_code == 400, query


def test_unknown_ids_are_404(api, thread):
    missing = uuid.uuid4()
    assert api.get(f"/agent/v1/threads/{missing}/").status_code == 404
    assert api.get(f"/agent/v1/threads/{missing}/messages/").status_code == 404
    assert api.post(f"/agent/v1/threads/{missing}/messages/", {"role": "user", "content": "x"},
                    format="json").status_code == 404
    assert api.post(f"/agent/v1/threads/{missing}/fork/", {"message_id": str(missing)},
                    format="json").status_code == 404
    assert api.post(f"/agent/v1/messages/{missing}/edit/", {"content": "x"}, format="json").status_code == 404
    assert api.get("/agent/v1/threads/not-a-uuid/").status_code == 404


def test_outsiders_see_nothing(thread):
    # Threads are scoped to projects (issue 11): a user of no project of the thread's
    # lists nothing and gets 404 for it, writes included; anonymous is 401.
    anonymous = APIClient()
    assert anonymous.get("/agent/v1/threads/").status_code == 401
    user = get_user_model().objects.create_user("plain", "p@example.com", "pw")
    client = APIClient()
    client.force_authenticate(user)
    assert client.get("/agent/v1/threads/").json()["results"] == []
    assert client.post(f"/agent/v1/threads/{thread.pk}/messages/", {"role": "user", "content": "x"},
                       format="json").status_code == 404
    assert not Message.objects.filter(thread=thread).exists()


def test_staff_without_the_plaintext_permission_or_a_membership_reads_nothing(thread):
    services.message_create(thread=thread, role="user", content=secret("staff only is not enough"))
    services.safety_event_record(thread=thread, detector="pii", action="flag", severity="low", detail=secret("e"))
    user = get_user_model().objects.create_user("staff2", "s2@example.com", "pw", is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    assert client.get(f"/agent/v1/threads/{thread.pk}/messages/").status_code == 404
    for url in (f"/agent/v1/threads/{thread.pk}/messages/", "/agent/v1/safety-events/", "/agent/v1/threads/"):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert response.status_code == 404 or response.json()["results"] == [], url
        assert secret("staff only is not enough") not in response.content.decode()


def test_token_auth(staff):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=staff, name='test')[1]}")
    assert client.get("/agent/v1/threads/").status_code == 200


def test_message_shape_and_order(api, thread):
    response = api.post(f"/agent/v1/threads/{thread.pk}/messages/", {"role": "system", "content": ""}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert {"id", "content", "thinking_content", "role", "status", "revision"} <= set(body)
    assert body["content"] == "" and body["thinking_content"] is None and body["status"] == "active"
    assert body["revision"] == 1 and body["tool_calls"] == []
    for i in range(3):
        services.message_create(thread=thread, role="user", content=f"m{i}")
    assert [m["content"] for m in api.get(f"/agent/v1/threads/{thread.pk}/messages/").json()["results"]] == [
        "", "m0", "m1", "m2"
    ]


def test_cursor_pagination_walks_every_message_once(api, thread):
    for i in range(7):
        services.message_create(thread=thread, role="user", content=f"m{i}")
    seen, url = [], f"/agent/v1/threads/{thread.pk}/messages/?limit=3"
    while url:
        page = api.get(url).json()
        assert len(page["results"]) <= 3
        seen += [m["content"] for m in page["results"]]
        url = page["next"]
    assert seen == [f"m{i}" for i in range(7)]


def test_listing_a_page_of_100_messages_runs_a_fixed_number_of_queries(api, thread, django_assert_num_queries):
    for i in range(100):
        m = services.message_create(thread=thread, role="user", content=f"message {i} " + "x" * 50)
        if i % 10 == 0:
            services.tool_call_record(message=m, tool_name="t", call_id=str(i), arguments={"i": i})
    # the permission check (the user's and their groups' permissions, once per request),
    # the thread lookup, the page of messages, the tool calls of the page (one query)
    with django_assert_num_queries(5):
        response = api.get(f"/agent/v1/threads/{thread.pk}/messages/?limit=100")
    results = response.json()["results"]
    assert len(results) == 100 and sum(len(m["tool_calls"]) for m in results) == 10


def test_edit_api_records_a_pending_rerun_and_refuses_edited_out_messages(api, thread):
    first = services.message_create(thread=thread, role="user", content="q")
    response = api.post(f"/agent/v1/messages/{first.pk}/edit/", {"content": "q2"}, format="json")
    assert response.status_code == 201
    rerun = PendingRerun.objects.get()
    assert str(rerun.pk) == response.json()["pending_rerun"] and rerun.status == "pending"
    assert str(rerun.message_id) == response.json()["id"]
    again = api.post(f"/agent/v1/messages/{first.pk}/edit/", {"content": "q3"}, format="json")
    assert again.status_code == 400 and "non_field_errors" in again.json()
    assert api.post(f"/agent/v1/messages/{first.pk}/edit/", {}, format="json").status_code == 400
    # editing the new revision makes revision 3, parent revision 2
    third = api.post(f"/agent/v1/messages/{rerun.message_id}/edit/", {"content": "q3"}, format="json").json()
    assert third["revision"] == 3 and third["edit_parent"] == str(rerun.message_id)


def test_fork_api_copies_up_to_the_message_only_and_refuses_other_threads(api, thread):
    msgs = [services.message_create(thread=thread, role="user", content=f"m{i}") for i in range(3)]
    response = api.post(f"/agent/v1/threads/{thread.pk}/fork/", {"message_id": str(msgs[1].pk), "title": "f"},
                        format="json")
    assert response.status_code == 201
    fork = response.json()
    assert fork["title"] == "f" and fork["forked_from_thread"] == str(thread.pk)
    copies = api.get(f"/agent/v1/threads/{fork['id']}/messages/").json()["results"]
    assert [m["content"] for m in copies] == ["m0", "m1"]
    assert {m["id"] for m in copies}.isdisjoint({str(m.pk) for m in msgs})
    other = services.thread_create(title="other", project=thread.project)
    bad = api.post(f"/agent/v1/threads/{other.pk}/fork/", {"message_id": str(msgs[1].pk)}, format="json")
    assert bad.status_code == 400 and "message_id" in bad.json()
    assert Message.objects.filter(thread=thread).count() == 3


def test_safety_event_filters(api, thread, staff):
    other = services.thread_create(title="other", project=thread.project)
    now = timezone.now()
    a = services.safety_event_record(thread=thread, detector="pii", action="redact", severity="high",
                                     user_id=staff.pk, detail=secret("a"))
    b = services.safety_event_record(thread=other, detector="injection", action="block", severity="critical")
    c = services.safety_event_record(thread=thread, detector="pii", action="flag", severity="low")
    SafetyEvent.objects.filter(pk=c.pk).update(created_at=now - dt.timedelta(days=2))

    def ids(query):
        response = api.get(f"/agent/v1/safety-events/?{query}")
        assert response.status_code == 200, response.content
        return {e["id"] for e in response.json()["results"]}

    assert ids("") == {str(a.pk), str(b.pk), str(c.pk)}
    assert ids("detector=pii") == {str(a.pk), str(c.pk)}
    assert ids("action=block") == {str(b.pk)}
    assert ids("severity=high") == {str(a.pk)}
    assert ids(f"thread={other.pk}") == {str(b.pk)}
    assert ids(f"user={staff.pk}") == {str(a.pk)}
    since = (now - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"created_after={since}") == {str(a.pk), str(b.pk)}
    assert ids(f"created_before={since}") == {str(c.pk)}
    assert ids("detector=pii&severity=low") == {str(c.pk)}


def test_thread_delete_cascades_through_revisions(thread):
    first = services.message_create(thread=thread, role="user", content="q")
    services.message_edit_and_rerun(message=first, content="q2")
    thread.delete()
    assert not Thread.objects.exists() and not Message.objects.exists()


def test_openapi_schema_lists_every_path(client):
    schema = client.get("/agent/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    for path, methods in {
        "/agent/v1/threads/": {"get", "post"},
        "/agent/v1/threads/{thread_id}/": {"get"},
        "/agent/v1/threads/{thread_id}/messages/": {"get", "post"},
        "/agent/v1/threads/{thread_id}/fork/": {"post"},
        "/agent/v1/messages/{message_id}/edit/": {"post"},
        "/agent/v1/safety-events/": {"get", "post"},
    }.items():
        assert methods <= set(paths[path]), path
    listed = paths["/agent/v1/threads/{thread_id}/messages/"]["get"]
    assert {p["name"] for p in listed["parameters"]} >= {"include_edited", "limit", "cursor"}
    filters = {p["name"] for p in paths["/agent/v1/safety-events/"]["get"]["parameters"]}
    assert filters >= {"detector", "action", "severity", "thread", "user", "created_after", "created_before"}
    page = schema["components"]["schemas"]["PaginatedMessageList"]
    assert set(page["properties"]) == {"results", "next"}


def test_schema_generation_has_no_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache


@pytest.mark.parametrize("serializer", ["MessageOutputSerializer", "MessageEditOutputSerializer",
                                        "ToolCallOutputSerializer", "SafetyEventOutputSerializer"])
def test_output_keys_match_the_declared_schema_fields(thread, serializer):
    # Message and tool-call output is built by hand for speed; the declared fields are the schema.
    from messages_app import serializers as s

    message = services.message_create(thread=thread, role="user", content="x")
    call = services.tool_call_record(message=message, tool_name="t", call_id="1", arguments={})
    services.message_create(thread=thread, role="assistant", content="y")
    revision, _ = services.message_edit_and_rerun(message=message, content="z")
    event = services.safety_event_record(thread=thread, detector="pii", action="flag", severity="low")
    instance = {"MessageOutputSerializer": message, "MessageEditOutputSerializer": revision,
                "ToolCallOutputSerializer": call, "SafetyEventOutputSerializer": event}[serializer]
    cls = getattr(s, serializer)
    assert list(cls(instance).data) == list(cls().fields)


def test_editing_again_cancels_the_rerun_still_waiting_for_the_superseded_revision(api, thread):

    first = services.message_create(thread=thread, role="user", content="draft one")
    edited, rerun_one = services.message_edit_and_rerun(message=first, content="draft two")
    _again, rerun_two = services.message_edit_and_rerun(message=edited, content="draft three")
    statuses = dict(PendingRerun.objects.values_list("id", "status"))
    assert statuses == {rerun_one.id: "cancelled", rerun_two.id: "pending"}


@pytest.mark.parametrize("meta", [{"q": "\ud800"}, {"n": float("nan")}])
def test_json_the_api_could_never_serve_back_is_a_400_and_nothing_is_stored(api, thread, meta):
    # format="json" cannot encode NaN, so post the raw body DRF would receive.
    raw_meta = '{"q": "\\ud800"}' if "q" in meta else '{"n": NaN}'
    body = f'{{"thread": "{thread.pk}", "detector": "pii", "action": "flag", "severity": "low", "meta": {raw_meta}}}'
    response = api.post("/agent/v1/safety-events/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert not SafetyEvent.objects.exists()
    assert api.get("/agent/v1/safety-events/").status_code == 200


@pytest.mark.parametrize("path", ["/agent/v1/threads/", "/agent/v1/threads/{thread}/messages/",
                                  "/agent/v1/safety-events/"])
@pytest.mark.parametrize("cursor", ["!!notbase64", "cj14", "cD1ub3RhZGF0ZQ==", "cD1hYmM="])  # p=notadate; p=abc
def test_a_forged_cursor_is_a_400_naming_it(api, thread, path, cursor):
    response = api.get(path.format(thread=thread.pk), {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert response.json() == {"cursor": ["invalid cursor; use the next link as given"]}
