"""Row-bound models: every ORM write path seals pv2 with the row, every load opens with it."""

import json

import pytest
from django.core import exceptions
from django.core.management import call_command
from django.db import connection
from django.db.migrations.state import ProjectState
from django.test.utils import CaptureQueriesContext

from messages_app.models import Message
from platos.core.envelope import decrypt, token_version
from platos.core.fields import Undecryptable
from platos.core.rowbound import BOUND, RowPending, spec_of
from secrets_app.models import EnvironmentVariable
from tests.factories import EnvironmentFactory, ProjectFactory, ThreadFactory

pytestmark = pytest.mark.django_db
SECRET = "row-bound-secret-0123456789"


def db_pk(pk):
    return Message._meta.pk.get_db_prep_value(pk, connection)  # UUIDs are hex text on SQLite


def raw(table, column, pk):
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cur.fetchone()[0]


def content(message) -> str:
    return raw("messages_app_message", "content", db_pk(message.pk))


def value(var) -> str:
    return raw("secrets_app_environmentvariable", "value", var.pk)


def opens_in_its_row(stored, instance, field="content") -> str:
    f = type(instance)._meta.get_field(field)
    assert token_version(stored) == "pv2", stored
    return decrypt(stored, keyring=f.keyring, context=f.context, row=spec_of(type(instance)).row_of(instance))


@pytest.fixture
def thread():
    return ThreadFactory()


@pytest.fixture
def env():
    return EnvironmentFactory(project=ProjectFactory(slug="rb"), slug="prod")


def test_create_and_save_seal_pv2_in_the_row(thread):
    message = Message.objects.create(thread=thread, sequence=1, role="user", content=SECRET)
    assert opens_in_its_row(content(message), message) == SECRET
    message.content = SECRET + "!"
    message.save()
    assert opens_in_its_row(content(message), message) == SECRET + "!"
    assert Message.objects.get(pk=message.pk).content == SECRET + "!"


def test_bulk_create_seals_each_row_in_its_own_row(thread):
    made = Message.objects.bulk_create(
        [Message(thread=thread, sequence=i, role="user", content=f"{SECRET} {i}") for i in range(3)])
    tokens = [content(m) for m in made]
    assert [opens_in_its_row(t, m) for t, m in zip(tokens, made, strict=True)] == [f"{SECRET} {i}" for i in range(3)]
    assert [m.content for m in Message.objects.order_by("sequence")] == [f"{SECRET} {i}" for i in range(3)]


def test_bulk_update_seals_per_object_and_leaves_the_instances_plaintext(thread):
    made = [Message.objects.create(thread=thread, sequence=i, role="user", content="before") for i in range(3)]
    for i, m in enumerate(made):
        m.content = f"after {i}"
    assert Message.objects.bulk_update(made, ["content"]) == 3
    assert [m.content for m in made] == ["after 0", "after 1", "after 2"]  # not ciphertext
    assert [opens_in_its_row(content(m), m) for m in made] == ["after 0", "after 1", "after 2"]


def test_update_of_an_encrypted_or_identity_field_is_refused(env):
    var = EnvironmentVariable.objects.create(environment=env, name="TOKEN", value=SECRET)
    before = value(var)
    with pytest.raises(exceptions.FieldError, match="is row-bound: update"):
        EnvironmentVariable.objects.filter(pk=var.pk).update(value="other")
    for name, new in (("version", 5), ("name", "RENAMED"), ("environment", env.pk)):
        with pytest.raises(exceptions.FieldError, match="part of the row identity"):
            EnvironmentVariable.objects.filter(pk=var.pk).update(**{name: new})
    with pytest.raises(exceptions.FieldError):
        env.variables.update(value="through the related manager")
    assert value(var) == before
    assert EnvironmentVariable.objects.filter(pk=var.pk).update(kind="tool", value=None) == 1  # NULL: no row needed


def test_a_version_bump_with_update_fields_reseals_the_value(env):
    var = EnvironmentVariable.objects.create(environment=env, name="TOKEN", value=SECRET)
    var = EnvironmentVariable.objects.get(pk=var.pk)
    var.kind, var.version = "tool", var.version + 1
    var.save(update_fields=["kind", "version"])
    assert opens_in_its_row(value(var), var, "value") == SECRET
    assert EnvironmentVariable.objects.get(pk=var.pk).value == SECRET


def test_an_identity_change_reseals_a_deferred_value_too(env):
    var = EnvironmentVariable.objects.create(environment=env, name="TOKEN", value=SECRET)
    for update_fields in (None, ["name"]):
        var = EnvironmentVariable.objects.defer("value").get(pk=var.pk)
        var.name = var.name + "X"
        var.save(update_fields=update_fields)
        assert EnvironmentVariable.objects.get(pk=var.pk).value == SECRET
    assert EnvironmentVariable.objects.get(pk=var.pk).name == "TOKENXX"


def test_an_unchanged_identity_in_update_fields_does_not_rewrite_the_value(env):
    var = EnvironmentVariable.objects.create(environment=env, name="TOKEN", value=SECRET)
    before = value(var)
    var = EnvironmentVariable.objects.get(pk=var.pk)
    var.kind = "tool"
    var.save(update_fields=["kind", "name"])
    assert value(var) == before


def test_an_unwritten_identity_change_keeps_the_bound_row(env):
    var = EnvironmentVariable.objects.create(environment=env, name="TOKEN", value=SECRET)
    var = EnvironmentVariable.objects.get(pk=var.pk)
    var.version = 9  # changed in memory, not saved
    var.save(update_fields=["kind"])
    assert var.__dict__[BOUND][2] == 1
    var.save()  # now it is written: the value is sealed under version 9
    assert EnvironmentVariable.objects.get(pk=var.pk).value == SECRET


def test_deferred_and_partial_loads_open_in_the_row(env, django_assert_num_queries):
    var = EnvironmentVariable.objects.create(environment=env, name="TOKEN", value=SECRET)
    deferred = EnvironmentVariable.objects.defer("value").get(pk=var.pk)
    with django_assert_num_queries(1):  # the deferred load itself: the identity comes from the instance
        assert deferred.value == SECRET
    with django_assert_num_queries(2):  # .only() without the identity: one query more, still opens
        assert EnvironmentVariable.objects.only("id", "value").get(pk=var.pk).value == SECRET
    fresh = EnvironmentVariable.objects.get(pk=var.pk)
    fresh.refresh_from_db(fields=["value"])
    assert fresh.value == SECRET
    fresh.refresh_from_db()
    assert fresh.value == SECRET


def test_select_related_opens_the_related_row(thread):
    from messages_app.models import ToolCall

    message = Message.objects.create(thread=thread, sequence=1, role="user", content=SECRET)
    ToolCall.objects.create(message=message, tool_name="t", call_id="c", arguments={"q": SECRET})
    call = ToolCall.objects.select_related("message").get()
    assert call.arguments == {"q": SECRET} and call.message.content == SECRET


def test_values_list_gives_the_placeholder_never_ciphertext(thread):
    message = Message.objects.create(thread=thread, sequence=1, role="user", content=SECRET)
    [listed] = Message.objects.values_list("content", flat=True)
    [row] = Message.objects.values("content")
    for placeholder in (listed, row["content"]):
        assert isinstance(placeholder, Undecryptable) and isinstance(placeholder, RowPending)
        assert placeholder.reason == "row-bound envelope read without its row"
        assert placeholder.key_id == content(message).split(":")[1]
        with pytest.raises(Exception, match="without its row"):
            str(placeholder)


def test_a_value_moved_to_another_row_reads_as_undecryptable_and_is_written_back(thread):
    a = Message.objects.create(thread=thread, sequence=1, role="user", content=SECRET)
    b = Message.objects.create(thread=thread, sequence=2, role="user", content="harmless")
    stolen = content(a)
    with connection.cursor() as cur:
        cur.execute("UPDATE messages_app_message SET content = %s WHERE id = %s", [stolen, db_pk(b.pk)])
    moved = Message.objects.get(pk=b.pk)
    assert isinstance(moved.content, Undecryptable)
    assert moved.content.reason == "authentication failed (tampered, wrong context, wrong row or wrong key)"
    assert Message.objects.get(pk=a.pk).content == SECRET  # the original still opens
    moved.role = "assistant"
    moved.save()
    assert content(b) == stolen  # nothing lost: the stored token is written back as it was


def test_dumpdata_and_loaddata_round_trip_row_bound_tokens(thread, tmp_path):
    message = Message.objects.create(thread=thread, sequence=1, role="user", content=SECRET)
    out = tmp_path / "dump.json"
    call_command("dumpdata", "messages_app.message", output=str(out), verbosity=0)
    dumped = json.loads(out.read_text())
    token = dumped[0]["fields"]["content"]
    assert SECRET not in out.read_text() and token_version(token) == "pv2"
    Message.objects.all().delete()
    call_command("loaddata", str(out), verbosity=0)
    assert content(message) == token  # restored as it was dumped, into the same row
    assert Message.objects.get(pk=message.pk).content == SECRET


def test_admin_form_path_seals_pv2(env):
    from django import forms

    form = forms.modelform_factory(EnvironmentVariable, fields=["environment", "name", "value", "kind"])(
        data={"environment": env.pk, "name": "FORM_VAR", "value": SECRET, "kind": "plain"})
    assert form.is_valid(), form.errors
    var = form.save()
    assert opens_in_its_row(value(var), var, "value") == SECRET


def test_historical_models_seal_pv1_and_read_pv2_as_the_placeholder(env):
    historical = ProjectState.from_apps(__import__("django.apps").apps.apps).apps.get_model(
        "secrets_app", "EnvironmentVariable")
    obj = historical.objects.create(environment_id=env.pk, name="MIGRATED", value=SECRET)
    assert token_version(value(obj)) == "pv1"  # no row identity there: column-bound, rotation re-seals it
    assert EnvironmentVariable.objects.get(pk=obj.pk).value == SECRET
    bound = EnvironmentVariable.objects.create(environment=env, name="BOUND", value=SECRET)
    assert isinstance(historical.objects.get(pk=bound.pk).value, Undecryptable)


def test_a_save_encodes_the_row_once_for_every_field(thread):
    from messages_app.models import ToolCall

    message = Message.objects.create(thread=thread, sequence=1, role="user", content="x")
    call = ToolCall(message=message, tool_name="t", call_id="c", arguments={"a": 1}, result={"b": 2})
    calls = []
    spec = spec_of(ToolCall)
    real = spec.text
    spec.text = lambda values: calls.append(values) or real(values)
    try:
        call.save()
    finally:
        del spec.text
    assert len(calls) == 1
    with CaptureQueriesContext(connection):
        loaded = ToolCall.objects.get(pk=call.pk)
    assert (loaded.arguments, loaded.result) == ({"a": 1}, {"b": 2})


def test_bulk_update_of_an_identity_field_reseals_the_values(env):
    made = [EnvironmentVariable.objects.create(environment=env, name=f"V{i}", value=f"{SECRET} {i}") for i in range(2)]
    made = list(EnvironmentVariable.objects.defer("value").order_by("name"))
    for var in made:
        var.version += 1
    EnvironmentVariable.objects.bulk_update(made, ["version"])
    assert [v.value for v in EnvironmentVariable.objects.order_by("name")] == [f"{SECRET} 0", f"{SECRET} 1"]
    assert [v.version for v in EnvironmentVariable.objects.order_by("name")] == [2, 2]
