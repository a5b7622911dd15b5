"""Encrypted fields: every write path stores ciphertext (read back with raw SQL)."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core import exceptions
from django.core.management import call_command
from django.db import connection
from django.db.migrations.state import ProjectState
from django.test import override_settings

from platos.core.envelope import is_token, token_key_id
from platos.core.fields import EncryptedTextField, Undecryptable
from tests.testapp.models import Note

pytestmark = pytest.mark.django_db
SECRET = "the launch code is 0000-swordfish"


def assert_ciphertext(raw_column, pk, plain=SECRET, field="body"):
    stored = raw_column(Note, field, pk)
    assert is_token(stored), stored
    assert plain not in stored


def test_save_encrypts_and_reads_back(raw_column):
    note = Note.objects.create(body=SECRET, data={"token": SECRET})
    assert_ciphertext(raw_column, note.pk)
    assert_ciphertext(raw_column, note.pk, field="data")
    fresh = Note.objects.get(pk=note.pk)
    assert fresh.body == SECRET and fresh.data == {"token": SECRET}


def test_bulk_create_encrypts(raw_column):
    notes = Note.objects.bulk_create([Note(body=f"{SECRET} {i}") for i in range(3)])
    for i, note in enumerate(notes):
        pk = note.pk or Note.objects.order_by("pk")[i].pk  # SQLite < 3.35 returns no pks
        assert_ciphertext(raw_column, pk, plain=f"{SECRET} {i}")
    assert sorted(Note.objects.values_list("body", flat=True)) == [f"{SECRET} {i}" for i in range(3)]


def test_bulk_update_encrypts(raw_column):
    a, b = Note.objects.create(body="a"), Note.objects.create(body="b")
    a.body, b.body = SECRET, SECRET + "!"
    Note.objects.bulk_update([a, b], ["body"])
    assert_ciphertext(raw_column, a.pk)
    assert_ciphertext(raw_column, b.pk)
    assert Note.objects.get(pk=b.pk).body == SECRET + "!"


def test_queryset_update_encrypts(raw_column):
    note = Note.objects.create(body="before")
    assert Note.objects.filter(pk=note.pk).update(body=SECRET) == 1
    assert_ciphertext(raw_column, note.pk)
    assert Note.objects.get(pk=note.pk).body == SECRET


def test_loaddata_encrypts_plaintext_fixture(raw_column, tmp_path):
    fixture = tmp_path / "notes.json"
    fixture.write_text(json.dumps([
        {"model": "testapp.note", "pk": 901, "fields": {"body": SECRET, "data": {"k": SECRET}}}
    ]))
    call_command("loaddata", str(fixture), verbosity=0)
    assert_ciphertext(raw_column, 901)
    assert_ciphertext(raw_column, 901, field="data")
    assert Note.objects.get(pk=901).data == {"k": SECRET}


def test_dumpdata_writes_envelopes_and_loaddata_restores_them(tmp_path, raw_column):
    Note.objects.create(pk=902, body=SECRET, data=[SECRET])
    out = tmp_path / "dump.json"
    call_command("dumpdata", "testapp.note", output=str(out), verbosity=0)
    dumped = out.read_text()
    assert SECRET not in dumped and "pv1:" in dumped
    Note.objects.all().delete()
    call_command("loaddata", str(out), verbosity=0)
    note = Note.objects.get(pk=902)
    assert note.body == SECRET and note.data == [SECRET]
    restored = raw_column(Note, "body", 902)
    assert is_token(restored) and restored in dumped  # the dumped envelope itself, not re-wrapped


def test_envelopes_are_accepted_as_ciphertext_only_inside_loaddata(raw_column):
    note = Note.objects.create(body=SECRET)
    stolen = raw_column(Note, "body", note.pk)
    copy = Note.objects.create(body=stolen)  # outside loaddata: just text
    assert Note.objects.get(pk=copy.pk).body == stolen


def test_admin_form_encrypts(client, raw_column):
    admin = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(admin)
    response = client.post(
        "/admin/testapp/note/add/", {"label": "x", "body": SECRET, "other": "", "data": '{"a": 1}'}
    )
    assert response.status_code == 302, response.content[:2000]
    note = Note.objects.get(label="x")
    assert_ciphertext(raw_column, note.pk)
    assert note.data == {"a": 1}


def test_data_migration_historical_model_encrypts(raw_column):
    # What a RunPython data migration gets from apps.get_model(): a historical model
    # rebuilt from the migration state, with the field from deconstruct().
    historical = ProjectState.from_apps(__import__("django.apps").apps.apps).apps.get_model("testapp", "Note")
    assert historical is not Note
    obj = historical.objects.create(body=SECRET)
    assert_ciphertext(raw_column, obj.pk)
    assert Note.objects.get(pk=obj.pk).body == SECRET


@pytest.mark.parametrize("value", ["", 0, False, {}, [], "0", None])
def test_falsy_values_round_trip_as_themselves(value, raw_column):
    note = Note.objects.create(data=value, body=value if isinstance(value, str) or value is None else "")
    fresh = Note.objects.get(pk=note.pk)
    assert fresh.data == value and type(fresh.data) is type(value)
    if value is None:
        assert raw_column(Note, "data", note.pk) is None  # None stays SQL NULL
    else:
        assert is_token(raw_column(Note, "data", note.pk))


def test_empty_string_is_encrypted_not_null(raw_column):
    note = Note.objects.create(body="")
    assert is_token(raw_column(Note, "body", note.pk))
    assert Note.objects.get(pk=note.pk).body == ""


def test_lookups_other_than_isnull_are_refused():
    Note.objects.create(body=SECRET)
    Note.objects.create(body=None)
    for lookup in ("body", "body__exact", "body__icontains", "body__startswith", "body__in"):
        with pytest.raises(exceptions.FieldError, match="encrypted"):
            list(Note.objects.filter(**{lookup: SECRET if lookup != "body__in" else [SECRET]}))
    assert Note.objects.filter(body__isnull=True).count() == 1
    assert Note.objects.filter(body=None).count() == 1
    assert Note.objects.filter(body__isnull=False).count() == 1


def test_ciphertext_swapped_between_columns_is_refused(raw_column):
    note = Note.objects.create(body=SECRET, other="harmless")
    stolen = raw_column(Note, "body", note.pk)
    with connection.cursor() as cur:
        cur.execute("UPDATE testapp_note SET other = %s WHERE id = %s", [stolen, note.pk])
    fresh = Note.objects.get(pk=note.pk)
    assert isinstance(fresh.other, Undecryptable)
    assert fresh.other.key_id == token_key_id(stolen)
    with pytest.raises(Exception, match="authentication failed") as exc:
        str(fresh.other)
    assert SECRET not in str(exc.value)


def test_undecryptable_value_is_written_back_unchanged(raw_column):
    note = Note.objects.create(body=SECRET)
    with connection.cursor() as cur:
        cur.execute("UPDATE testapp_note SET body = %s WHERE id = %s", ["pv1:000000000000:AAAA", note.pk])
    fresh = Note.objects.get(pk=note.pk)
    fresh.label = "renamed"
    fresh.save()
    assert raw_column(Note, "body", note.pk) == "pv1:000000000000:AAAA"


def test_legacy_plaintext_mode(raw_column):
    note = Note.objects.create(body="x")
    with connection.cursor() as cur:
        cur.execute("UPDATE testapp_note SET body = %s WHERE id = %s", ["legacy text", note.pk])
    assert isinstance(Note.objects.get(pk=note.pk).body, Undecryptable)  # off by default
    with override_settings(PLATOS_ALLOW_LEGACY_PLAINTEXT=True):
        legacy = Note.objects.get(pk=note.pk)
        assert legacy.body == "legacy text"
        legacy.save()  # a save encrypts it
    assert is_token(raw_column(Note, "body", note.pk))


def test_deconstruct_has_no_key_material():
    from django.conf import settings

    field = Note._meta.get_field("body")
    name, path, args, kwargs = field.deconstruct()
    assert path == "platos.core.fields.EncryptedTextField"
    assert kwargs == {"keyring": "messages", "null": True, "blank": True}
    for ring in settings.PLATOS_KEYRINGS.values():
        for key in ring.keys.values():
            assert key.material.reveal().hex() not in repr(kwargs)
            assert repr(key.material.reveal()) not in repr(kwargs)


def test_check_refuses_unique_and_index():
    for kwargs in ({"unique": True}, {"db_index": True}):
        field = EncryptedTextField(keyring="messages", **kwargs)
        field.set_attributes_from_name("f")
        field.model = Note
        ids = {e.id for e in field.check()}
        assert ids & {"platos.E101", "platos.E102"}


def test_unknown_keyring_name_is_refused():
    with pytest.raises(ValueError, match="keyring must be one of"):
        EncryptedTextField(keyring="nope")


def test_pasting_a_ciphertext_into_a_form_does_not_decrypt_it(raw_column):
    # full_clean/to_python must not be a decryption oracle: a pasted envelope stays
    # ciphertext in the form, and pasted into another column it is just text there.
    from django import forms

    note = Note.objects.create(body=SECRET)
    stolen = raw_column(Note, "body", note.pk)
    form = forms.modelform_factory(Note, fields=["label", "body", "other"])(
        data={"label": "copy", "body": stolen, "other": stolen}
    )
    assert form.is_valid(), form.errors
    assert SECRET not in repr(form.cleaned_data)
    copy = form.save()
    copy.full_clean()
    assert SECRET not in repr(copy.body) and SECRET not in repr(copy.other)
    fresh = Note.objects.get(pk=copy.pk)
    assert fresh.body == stolen and fresh.other == stolen  # the envelope text, never its plaintext


@pytest.mark.parametrize(
    ("field", "value"),
    [("data", float("nan")), ("data", {"x": float("inf")}), ("data", {"q": "\ud800"}), ("body", "a\udc00b"),
     ("body", 42)],
)
def test_values_that_could_never_be_served_back_are_refused(field, value):
    # NaN/Infinity are not JSON and lone surrogates are not UTF-8: stored, they would
    # make every page that lists the row fail. full_clean says so instead.
    note = Note(**{field: value})
    with pytest.raises(exceptions.ValidationError) as exc:
        note.full_clean()
    assert field in exc.value.message_dict


def test_loaddata_keeps_envelopes_it_cannot_decrypt_exactly_as_dumped(tmp_path, raw_column):
    from platos.core.keys import load_keyrings

    k1, k2 = "a" * 64, "b" * 64
    env = {"ENCRYPTION_KEY": "c" * 64}
    with override_settings(PLATOS_KEYRINGS=load_keyrings({**env, "PLATOS_MESSAGE_ENCRYPTION_KEY": k1})):
        Note.objects.create(pk=903, body=SECRET)
        out = tmp_path / "dump.json"
        call_command("dumpdata", "testapp.note", output=str(out), verbosity=0)
        dumped = raw_column(Note, "body", 903)
    Note.objects.all().delete()
    with override_settings(PLATOS_KEYRINGS=load_keyrings({**env, "PLATOS_MESSAGE_ENCRYPTION_KEY": k2})):
        call_command("loaddata", str(out), verbosity=0)
        assert isinstance(Note.objects.get(pk=903).body, Undecryptable)  # not "plaintext" pv1:...
    restored = raw_column(Note, "body", 903)
    assert token_key_id(restored) == token_key_id(dumped)
    with override_settings(PLATOS_KEYRINGS=load_keyrings({**env, "PLATOS_MESSAGE_ENCRYPTION_KEY": k1})):
        assert Note.objects.get(pk=903).body == SECRET  # the old key still opens it
