"""The rotation commands re-seal column-bound (pv1) rows row-bound (pv2), with or without a next key;
key_status counts what is left, and --verify counts values that do not open in their row."""

import json

import pytest
from django.db import connection

from messages_app.models import Message
from platos.core.envelope import token_key_id, token_version
from secrets_app.models import EnvironmentVariable
from tests.factories import EnvironmentFactory, ProjectFactory, ThreadFactory
from tests.rotation.conftest import E1, E2, K1, K2, kid, run

pytestmark = pytest.mark.django_db
VALUE, TEXT = "reseal-secret-value-0001", "reseal message text"


def raw(model, column, pk):
    pk = model._meta.pk.get_db_prep_value(pk, connection)
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return cur.fetchone()[0]


def store(model, column, pk, token):
    pk = model._meta.pk.get_db_prep_value(pk, connection)
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {model._meta.db_table} SET {column} = %s WHERE id = %s", [token, pk])  # noqa: S608


def column_bound(model, column, pk, plain):
    """Put a pv1 (column-bound) envelope of ``plain`` into the row: what every row held before pv2."""
    token = model._meta.get_field(column).get_prep_value(plain)  # no row known here: pv1
    assert token_version(token) == "pv1"
    store(model, column, pk, token)
    return token


@pytest.fixture
def rows(use_keys):
    use_keys(msg=K1, enc=E1, canary=True)
    env = EnvironmentFactory(project=ProjectFactory(slug="rs"), slug="prod")
    var = EnvironmentVariable.objects.create(environment=env, name="TOKEN", value=VALUE)
    thread = ThreadFactory()
    msgs = [Message.objects.create(thread=thread, sequence=i, role="user", content=f"{TEXT} {i}") for i in range(3)]
    column_bound(EnvironmentVariable, "value", var.pk, VALUE)
    for i, m in enumerate(msgs[:2]):
        column_bound(Message, "content", m.pk, f"{TEXT} {i}")
    return var, msgs


def status(*args):
    code, out, err = run("key_status", "--json", *args)
    assert code == 0, err
    return {ring["keyring"]: ring for ring in json.loads(out)["keyrings"]}


def column(ring, label):
    return next(c for c in ring["columns"] if c["column"] == label)


def test_key_status_counts_column_bound_and_row_bound_rows(rows):
    rings = status()
    content = column(rings["messages"], "messages_app_message.content")
    assert (content["column_bound"], content["row_bound"], content["row_bound_column"]) == (2, 1, True)
    assert rings["messages"]["column_bound_rows"] == 2 and rings["encryption"]["column_bound_rows"] == 1
    assert column(rings["encryption"], "secrets_app_environmentvariable.value")["column_bound"] == 1
    code, out, _ = run("key_status")
    assert "messages_app_message.content: " in out and "(column-bound 2, row-bound 1)" in out
    assert "column-bound rows left: 2 (run the rotation command" in out


def test_without_a_next_key_the_commands_reseal_pv1_rows_as_pv2(rows):
    var, msgs = rows
    code, out, err = run("rotate_message_key", "--dry-run")
    assert code == 0 and "re-sealing column-bound rows row-bound under key id" in out
    assert "messages_app_message.content: " in out and "-> would rotate 2" in out
    for command in ("rotate_message_key", "rotate_encryption_key"):
        code, out, err = run(command, "--verify")
        assert code == 0, out + err
        assert "verify failures 0" in out
    assert token_version(raw(EnvironmentVariable, "value", var.pk)) == "pv2"
    assert token_key_id(raw(EnvironmentVariable, "value", var.pk)) == kid(E1)
    assert {token_version(raw(Message, "content", m.pk)) for m in msgs} == {"pv2"}
    assert EnvironmentVariable.objects.get(pk=var.pk).value == VALUE
    assert [Message.objects.get(pk=m.pk).content for m in msgs] == [f"{TEXT} {i}" for i in range(3)]
    rings = status()
    assert rings["messages"]["column_bound_rows"] == 0 and rings["encryption"]["column_bound_rows"] == 0
    # Nothing left to do and no next key: the old refusal, nothing written.
    code, _, err = run("rotate_message_key")
    assert code == 2 and "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT is not set" in err and "nothing to re-seal" in err


def test_with_a_next_key_pv1_and_pv2_rows_all_end_pv2_under_it(rows, use_keys):
    var, msgs = rows
    use_keys(msg=K1, msg_next=K2, enc=E1, enc_next=E2)
    for command in ("rotate_message_key", "rotate_encryption_key"):
        code, out, err = run(command, "--verify", "--batch-size", "2")
        assert code == 0, out + err
    assert {(token_version(raw(Message, "content", m.pk)), token_key_id(raw(Message, "content", m.pk)))
            for m in msgs} == {("pv2", kid(K2))}
    assert token_key_id(raw(EnvironmentVariable, "value", var.pk)) == kid(E2)
    use_keys(msg=K2, enc=E2)  # the swap: only the new keys
    assert [Message.objects.get(pk=m.pk).content for m in msgs] == [f"{TEXT} {i}" for i in range(3)]
    assert EnvironmentVariable.objects.get(pk=var.pk).value == VALUE


def test_verify_counts_values_moved_to_another_row_and_rotation_leaves_them(rows, use_keys):
    var, msgs = rows
    assert run("rotate_message_key")[0] == 0
    moved = raw(Message, "content", msgs[0].pk)
    store(Message, "content", msgs[1].pk, moved)  # a pv2 envelope copied into another row
    rings = status()  # heads only: a moved value looks like any other
    assert column(rings["messages"], "messages_app_message.content")["row_bound"] == 3
    content = column(status("--verify")["messages"], "messages_app_message.content")
    assert content["verify"] == {
        "failed": 1, "reasons": {"authentication failed (tampered, wrong context, wrong row or wrong key)": 1}}
    code, out, _ = run("key_status", "--verify")
    assert "verify: 1 do not decrypt in their row" in out
    use_keys(msg=K1, msg_next=K2, enc=E1)
    code, out, err = run("rotate_message_key")
    assert code == 1 and "wrong row" in out + err  # reported and left as it is
    assert raw(Message, "content", msgs[1].pk) == moved


def test_an_edit_between_read_and_write_of_a_row_bound_column_wins(rows, use_keys, monkeypatch):
    from platos.rotation.columns import Column

    var, msgs = rows
    use_keys(msg=K1, msg_next=K2, enc=E1)
    original = Column.fetch_batch

    def fetch_then_edit(self, **kwargs):
        fetched = original(self, **kwargs)
        if self.label == "messages_app_message.content" and fetched:
            edited = Message.objects.get(pk=msgs[0].pk)
            edited.content = "edited during the run"
            edited.save()
        return fetched

    monkeypatch.setattr(Column, "fetch_batch", fetch_then_edit)
    code, out, err = run("rotate_message_key")
    assert code == 0, out + err
    assert "changed during run 1" in out
    assert Message.objects.get(pk=msgs[0].pk).content == "edited during the run"
