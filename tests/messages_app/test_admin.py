"""Admin: read-only; plaintext only with messages_app.view_message_plaintext; never ciphertext."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import override_settings

from messages_app import services

from .conftest import K1, K2, MARK, message_rings, secret

pytestmark = pytest.mark.django_db

VIEW_PERMS = ["view_thread", "view_message", "view_toolcall", "view_safetyevent"]


def staff_client(client, *, plaintext: bool):
    user = get_user_model().objects.create_user(f"viewer{plaintext}", "v@example.com", "pw", is_staff=True)
    codenames = VIEW_PERMS + (["view_message_plaintext"] if plaintext else [])
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="messages_app",
                                                        codename__in=codenames))
    client.force_login(user)
    return client


@pytest.fixture
def conversation(thread):
    message = services.message_create(thread=thread, role="user", content=secret("admin content"),
                                      thinking_content=secret("admin thinking"))
    services.tool_call_record(message=message, tool_name="lookup", call_id="c1", arguments={"q": secret("admin args")})
    event = services.safety_event_record(thread=thread, message=message, detector="pii", action="redact",
                                         severity="high", detail=secret("admin detail"),
                                         meta={"span": secret("admin meta")})
    return thread, message, event


def pages(thread, message, event):
    return [
        f"/admin/messages_app/thread/{thread.pk}/change/",
        f"/admin/messages_app/message/{message.pk}/change/",
        f"/admin/messages_app/safetyevent/{event.pk}/change/",
        "/admin/messages_app/thread/",
        "/admin/messages_app/message/",
        "/admin/messages_app/safetyevent/",
    ]


def test_without_the_permission_only_metadata_is_shown(client, conversation):
    thread, message, event = conversation
    client = staff_client(client, plaintext=False)
    for url in pages(*conversation):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert MARK not in html, url
        assert "pv1:" not in html and "pv2:" not in html, url
    html = client.get(f"/admin/messages_app/thread/{thread.pk}/change/").content.decode()
    assert "needs the view_message_plaintext permission" in html and "support chat" in html
    assert "pii" in client.get(f"/admin/messages_app/safetyevent/{event.pk}/change/").content.decode()


def test_with_the_permission_plaintext_is_shown_but_never_ciphertext(client, conversation):
    thread, message, event = conversation
    client = staff_client(client, plaintext=True)
    html = {url: client.get(url).content.decode() for url in pages(*conversation)}
    assert all("pv1:" not in page and "pv2:" not in page for page in html.values())
    assert secret("admin content") in html[pages(*conversation)[0]]
    message_page = html[pages(*conversation)[1]]
    assert secret("admin thinking") in message_page and secret("admin args") in message_page
    event_page = html[pages(*conversation)[2]]
    assert secret("admin detail") in event_page and secret("admin meta") in event_page


def test_undecryptable_rows_show_an_error_not_ciphertext(client, thread):
    with override_settings(PLATOS_KEYRINGS=message_rings(K1)):
        message = services.message_create(thread=thread, role="user", content=secret("old key"))
    client = staff_client(client, plaintext=True)
    with override_settings(PLATOS_KEYRINGS=message_rings(K2)):
        html = client.get(f"/admin/messages_app/message/{message.pk}/change/").content.decode()
    assert "cannot be decrypted" in html and "pv1:" not in html and "pv2:" not in html and MARK not in html


def test_admin_is_read_only_and_refuses_filters_on_ciphertext(admin_client, conversation):
    thread, message, event = conversation
    assert admin_client.get("/admin/messages_app/thread/add/").status_code == 403
    assert admin_client.get("/admin/messages_app/safetyevent/add/").status_code == 403
    assert admin_client.post(f"/admin/messages_app/safetyevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    html = admin_client.get(f"/admin/messages_app/message/{message.pk}/change/").content.decode()
    assert 'name="content"' not in html and "<textarea" not in html  # never an editable form field
    assert admin_client.get("/admin/messages_app/message/?content__icontains=zebra").status_code == 400
    assert admin_client.get("/admin/messages_app/safetyevent/?detail=x").status_code == 400


def test_showing_plaintext_is_audited_once_per_page_and_hiding_it_is_not(client, conversation):
    from audit.models import AuditEvent

    thread, message, event = conversation
    hidden = staff_client(client, plaintext=False)
    for url in pages(*conversation):
        hidden.get(url)
    assert not AuditEvent.objects.filter(action="message.plaintext.view").exists()

    viewer = staff_client(client, plaintext=True)
    viewer.get(f"/admin/messages_app/message/{message.pk}/change/")
    viewer.get("/admin/messages_app/message/")  # a list shows no text: no row
    [row] = AuditEvent.objects.filter(action="message.plaintext.view")
    assert (row.actor, row.subject_type, row.subject_id, row.success) == (
        "viewerTrue", AuditEvent.Subject.MESSAGE, str(message.pk), True)
    assert row.subject_type == "message"  # the stored spelling of the one subject vocabulary
    assert row.extra["fields_shown"] >= 3  # content, thinking, tool-call arguments
    assert MARK not in str(row.__dict__)


def test_tool_calls_have_a_read_only_section_with_plaintext_per_permission(client, conversation):
    from audit.models import AuditEvent
    from messages_app.models import ToolCall

    call = ToolCall.objects.get()
    url = f"/admin/messages_app/toolcall/{call.pk}/change/"
    hidden = staff_client(client, plaintext=False)
    assert hidden.get("/admin/messages_app/toolcall/").status_code == 200
    html = hidden.get(url).content.decode()
    assert "lookup" in html and MARK not in html and "pv1:" not in html and "pv2:" not in html
    assert hidden.get("/admin/messages_app/toolcall/add/").status_code == 403
    viewer = staff_client(client, plaintext=True)
    html = viewer.get(url).content.decode()
    assert secret("admin args") in html and "pv1:" not in html and "pv2:" not in html and "<textarea" not in html
    [row] = AuditEvent.objects.filter(action="message.plaintext.view")
    assert (row.subject_type, row.subject_id) == ("tool_call", str(call.pk))


def test_plaintext_view_rows_carry_the_threads_scope(client, staff, acme):
    from audit.models import AuditEvent
    from tests.factories import EnvironmentFactory

    production = EnvironmentFactory(project=acme, slug="production")
    thread = services.thread_create(title="scoped", created_by=staff, project=acme, environment=production)
    message = services.message_create(thread=thread, role="user", content=secret("scoped content"))
    viewer = staff_client(client, plaintext=True)
    viewer.get(f"/admin/messages_app/message/{message.pk}/change/")
    viewer.get(f"/admin/messages_app/thread/{thread.pk}/change/")
    rows = AuditEvent.objects.filter(action="message.plaintext.view").order_by("id")
    assert [(r.scope, r.project) for r in rows] == [("acme/production", "acme")] * 2
