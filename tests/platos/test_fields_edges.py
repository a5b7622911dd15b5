"""Encrypted-field branches the mutation run showed untested (README "Mutation testing")."""

import datetime
import decimal
import json
import logging
import uuid

import pytest
from django import forms
from django.core import exceptions
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.test.utils import isolate_apps

from platos.core.envelope import encrypt, is_token, token_key_id
from platos.core.fields import (
    EncryptedFieldMixin,
    EncryptedJSONField,
    EncryptedTextField,
    Undecryptable,
    encrypted_fields,
    loading_fixtures,
)
from tests.testapp.models import Note

SECRET = "the launch code is 0000-swordfish"


def store_raw(pk, field, token):
    with connection.cursor() as cur:
        cur.execute(f"UPDATE testapp_note SET {field} = %s WHERE id = %s", [token, pk])  # noqa: S608


@pytest.mark.django_db
def test_json_field_stores_datetime_decimal_and_uuid_with_djangos_encoder():
    at = datetime.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=datetime.UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    note = Note.objects.create(data={"at": at, "amount": decimal.Decimal("1.10"), "id": ident, "day": at.date()})
    assert Note.objects.get(pk=note.pk).data == {
        "at": "2024-05-06T07:08:09.123Z", "amount": "1.10", "id": str(ident), "day": "2024-05-06",
    }


def test_json_field_text_is_compact_and_keeps_non_ascii():
    field = Note._meta.get_field("data")
    assert field._dumps({"a": [1, "é"]}) == '{"a":[1,"é"]}'
    assert field.encoder is DjangoJSONEncoder


def test_json_field_takes_another_encoder_and_says_so_in_migrations():
    class Upper(json.JSONEncoder):
        def default(self, o):
            return str(o).upper()  # a set is not JSON: this encoder writes its text

    field = EncryptedJSONField(keyring="encryption", encoder=Upper)
    assert field._dumps({"x": {1, 2} - {2}}) == '{"x":"{1}"}'
    assert field.deconstruct()[3] == {"keyring": "encryption", "encoder": Upper}
    assert "encoder" not in Note._meta.get_field("data").deconstruct()[3]
    formfield = field.formfield()
    assert isinstance(formfield, forms.JSONField) and formfield.encoder is Upper


@pytest.mark.django_db
def test_invalid_json_in_a_json_column_reads_as_undecryptable(caplog):
    note = Note.objects.create(data={"ok": 1})
    token = encrypt("{not json", keyring="encryption", context=Note._meta.get_field("data").context)
    store_raw(note.pk, "data", token)
    with caplog.at_level(logging.WARNING, logger="platos.crypto"):
        value = Note.objects.get(pk=note.pk).data
    assert isinstance(value, Undecryptable)
    assert value.reason == "not valid JSON" and value.key_id == token_key_id(token)
    assert value.error.keyring == "encryption" and value.error.context == "testapp.Note.data"
    assert value.token == token
    assert [r.getMessage() for r in caplog.records] == [
        "undecryptable value: cannot decrypt (not valid JSON): keyring=encryption context=testapp.Note.data "
        f"key_id={token_key_id(token)}"
    ]
    assert "{not json" not in caplog.text


@pytest.mark.django_db
def test_an_undecryptable_row_passes_full_clean_and_is_written_back(raw_column, caplog):
    note = Note.objects.create(body=SECRET, data=[1])
    store_raw(note.pk, "body", "pv1:000000000000:AAAA")
    with caplog.at_level(logging.WARNING, logger="platos.crypto"):
        fresh = Note.objects.get(pk=note.pk)
    assert [r.getMessage() for r in caplog.records] == [
        "undecryptable value: cannot decrypt (key id not configured): keyring=messages "
        "context=testapp.Note.body key_id=000000000000"
    ]
    assert isinstance(fresh.body, Undecryptable)
    fresh.full_clean()  # an unreadable stored value is a state of the row, not a form error
    fresh.save()
    assert raw_column(Note, "body", note.pk) == "pv1:000000000000:AAAA"


def test_undecryptable_is_truthy_has_a_safe_repr_and_refuses_str():
    from platos.core.envelope import DecryptionError

    err = DecryptionError("key id not configured", keyring="messages", context="a.B.c", key_id="000000000000")
    value = Undecryptable("pv1:000000000000:AAAA", err)
    assert bool(value) is True  # not "" or None: `if value:` must not treat it as empty
    assert repr(value) == "<Undecryptable a.B.c key_id=000000000000: key id not configured>"
    assert (value.key_id, value.reason) == ("000000000000", "key id not configured")
    with pytest.raises(DecryptionError) as exc:
        str(value)
    assert exc.value is err


def test_validate_still_checks_storable_values():
    field = Note._meta.get_field("body")
    field.validate("text", None)
    field.validate(None, None)  # null=True: None is storable as SQL NULL
    with pytest.raises(exceptions.ValidationError, match="must be text"):
        field.validate(42, None)
    with pytest.raises(exceptions.ValidationError, match="lone surrogates"):
        field.validate("a\ud800", None)
    with pytest.raises(exceptions.ValidationError, match="no NaN or Infinity"):
        Note._meta.get_field("data").validate({"x": float("nan")}, None)
    with pytest.raises(exceptions.ValidationError, match="no NaN or Infinity"):
        Note._meta.get_field("data").validate({"x": object()}, None)


def test_check_refuses_a_primary_key_and_names_each_code():
    # a primary key is also unique (Django sets both), so it reports E101 and E103
    for attr, codes in (("unique", ["E101"]), ("db_index", ["E102"]), ("primary_key", ["E101", "E103"])):
        field = EncryptedTextField(keyring="messages", **{attr: True})
        field.set_attributes_from_name("f")
        field.model = Note
        errors = [e for e in field.check() if e.id.startswith("platos.")]
        assert [e.id for e in errors] == [f"platos.{code}" for code in codes]
        assert errors[-1].msg == (
            f"Encrypted fields cannot be {attr}: every write has a fresh nonce, so equal values "
            "never look equal in the database."
        )
        assert all(e.obj is field for e in errors)
    plain = EncryptedTextField(keyring="messages")
    plain.set_attributes_from_name("f")
    plain.model = Note
    assert not [e for e in plain.check() if e.id.startswith("platos.")]


def test_the_lookup_refusal_names_the_column_and_the_lookup():
    with pytest.raises(exceptions.FieldError) as exc:
        Note._meta.get_field("body").get_lookup("icontains")
    assert str(exc.value) == (
        "testapp.Note.body is encrypted: lookup 'icontains' would compare ciphertext and silently "
        "match nothing. Only isnull works."
    )
    with pytest.raises(exceptions.FieldError, match=r"^testapp\.Note\.body is encrypted: it cannot be compared"):
        Note.objects.filter(body="x")
    assert Note._meta.get_field("body").get_transform("lower") is None


@pytest.mark.django_db
def test_an_expression_over_an_encrypted_column_is_refused_with_its_name():
    from django.db.models.functions import Coalesce

    with pytest.raises(exceptions.FieldError) as exc:
        list(Note.objects.alias(b=Coalesce("body", "other")).filter(b="x"))
    assert str(exc.value) == (
        "testapp.Note.body is encrypted: it cannot be compared with a value (each write uses a fresh "
        "nonce). Only isnull works."
    )


def test_field_arguments_reach_django():
    field = EncryptedTextField("Secret body", "secret_body", keyring="messages")
    assert (field.verbose_name, field.name) == ("Secret body", "secret_body")
    json_field = EncryptedJSONField("Payload", keyring="encryption")
    assert json_field.verbose_name == "Payload"


@isolate_apps("tests.testapp")
def test_contribute_to_class_passes_its_options_on():
    class Holder(models.Model):
        class Meta:
            app_label = "testapp"

        def __str__(self) -> str:
            return "holder"

    field = EncryptedTextField(keyring="messages")
    field.contribute_to_class(Holder, "hidden", private_only=True)
    assert field in Holder._meta.private_fields and field not in Holder._meta.local_fields
    assert field.context == "testapp.Holder.hidden"


def test_validate_runs_djangos_checks_on_the_value():
    field = EncryptedTextField(keyring="messages", choices=[("a", "A")])
    field.set_attributes_from_name("f")
    field.validate("a", None)
    with pytest.raises(exceptions.ValidationError) as exc:
        field.validate("b", None)
    assert exc.value.code == "invalid_choice"


def test_a_changed_encoder_is_used_from_the_next_value_on():
    class Loud(DjangoJSONEncoder):
        def encode(self, o):
            return super().encode(o).upper()

    field = EncryptedJSONField(keyring="encryption")
    assert field._dumps({"a": "b"}) == '{"a":"b"}'
    field.encoder = Loud
    assert field._dumps({"a": "b"}) == '{"A":"B"}'
    field.encoder = DjangoJSONEncoder
    assert field._dumps({"a": "b"}) == '{"a":"b"}'


def test_context_of_a_field_not_yet_attached_reads_the_model():
    field = EncryptedTextField(keyring="messages")
    field.set_attributes_from_name("late")
    field.model = Note
    assert field.context == "testapp.Note.late"


def test_keyring_refusal_lists_the_names():
    with pytest.raises(ValueError) as exc:
        EncryptedTextField(keyring="nope")
    assert str(exc.value) == "keyring must be one of ['encryption', 'messages'], not 'nope'"


def test_text_field_stores_non_str_as_its_text():
    field = Note._meta.get_field("body")
    token = field.get_prep_value(12)
    assert is_token(token) and field.from_db_value(token, None, None) == "12"


def test_envelopes_pass_through_only_inside_loading_fixtures():
    field = Note._meta.get_field("body")
    token = field.get_prep_value(SECRET)
    with loading_fixtures():
        assert field.get_prep_value(token) == token
        assert is_token(field.get_prep_value("plain")) and field.get_prep_value("plain") != "plain"
    rewrapped = field.get_prep_value(token)
    assert rewrapped != token and field.from_db_value(rewrapped, None, None) == token


def test_check_legacy_parses_the_column_type():
    Note._meta.get_field("data").check_legacy('{"a": 1}')
    Note._meta.get_field("body").check_legacy("any text {")
    with pytest.raises(ValueError):
        Note._meta.get_field("data").check_legacy("{not json")


def test_the_rotation_registry_lists_every_encrypted_column_once():
    labels = {f.context for f in encrypted_fields()}
    assert {"testapp.Note.body", "testapp.Note.other", "testapp.Note.data"} <= labels
    assert all(isinstance(f, EncryptedFieldMixin) for f in encrypted_fields())
    assert len(labels) == len(list(encrypted_fields()))
    messages = {f.context for f in encrypted_fields("messages")}
    assert {"testapp.Note.body", "testapp.Note.other"} <= messages and "testapp.Note.data" not in messages
    assert "testapp.Note.data" in {f.context for f in encrypted_fields("encryption")}
    assert messages | {f.context for f in encrypted_fields("encryption")} == labels


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("body", 42, "must be text"),
        ("body", "a\ud800", "contains characters that are not valid Unicode text (lone surrogates)"),
        ("data", {"x": float("inf")}, "must be a JSON value (no NaN or Infinity)"),
        ("data", {"q": "\udc00"}, "contains characters that are not valid Unicode text (lone surrogates)"),
    ],
)
def test_storable_refusals_have_their_message_and_the_invalid_code(field, value, message):
    # The form and the API show these to the person who typed the value.
    with pytest.raises(exceptions.ValidationError) as exc:
        Note._meta.get_field(field).check_storable(value)
    assert [(e.message, e.code) for e in exc.value.error_list] == [(message, "invalid")]


@isolate_apps("tests.testapp")
def test_the_rotation_registry_skips_proxy_and_unmanaged_models(monkeypatch):
    from platos.core import fields

    class ProxyNote(Note):
        class Meta:
            app_label = "testapp"
            proxy = True

    class Outside(models.Model):
        secret = EncryptedTextField(keyring="messages")

        class Meta:
            app_label = "testapp"
            managed = False

        def __str__(self) -> str:
            return "outside"

    monkeypatch.setattr(fields.apps, "get_models", lambda: [ProxyNote, Outside, Note])
    # A proxy shares its parent's table and an unmanaged model is not ours: rotating either would
    # rewrap a column twice or touch a table we do not own.
    assert [f.context for f in encrypted_fields()] == ["testapp.Note.body", "testapp.Note.other", "testapp.Note.data"]
