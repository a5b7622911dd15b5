"""The system check that every model with an encrypted field says how its rows are bound."""

import uuid

from django.core import checks
from django.db import models
from django.test.utils import isolate_apps

from messages_app.models import Message
from platos.core.fields import EncryptedTextField
from platos.core.rowbound import spec_of
from platos.core.rowmodels import RowBoundModel, check_row_identities
from secrets_app.models import EnvironmentVariable


def test_every_installed_model_declares_its_rows_binding():
    assert check_row_identities() == []
    assert spec_of(EnvironmentVariable).names == ("environment", "name", "version")
    assert spec_of(Message).names == ("id",)


@isolate_apps("tests.testapp")
def test_the_system_check_refuses_bad_identities(monkeypatch):
    from platos.core import rowmodels

    class Undeclared(models.Model):
        secret = EncryptedTextField(keyring="messages")

        class Meta:
            app_label = "testapp"

        def __str__(self) -> str:
            return "undeclared"

    class AutoId(RowBoundModel):
        row_identity = ("id",)
        secret = EncryptedTextField(keyring="messages")

        class Meta:
            app_label = "testapp"

    class NotMixin(models.Model):
        row_identity = ("key",)
        key = models.CharField(max_length=5, primary_key=True)
        secret = EncryptedTextField(keyring="messages")

        class Meta:
            app_label = "testapp"

        def __str__(self) -> str:
            return "not mixin"

    class BadField(RowBoundModel):
        row_identity = ("id", "nope", "secret", "maybe")
        id = models.UUIDField(primary_key=True, default=uuid.uuid4)
        maybe = models.IntegerField(null=True)
        secret = EncryptedTextField(keyring="messages")

        class Meta:
            app_label = "testapp"

    monkeypatch.setattr(rowmodels.apps, "get_models", lambda: [Undeclared, AutoId, NotMixin, BadField])
    errors = check_row_identities()
    assert [(e.obj.__name__, e.id) for e in errors] == [
        ("Undeclared", "platos.E104"), ("AutoId", "platos.E107"), ("NotMixin", "platos.E105"),
        ("BadField", "platos.E106"), ("BadField", "platos.E106"), ("BadField", "platos.E106"),
    ]
    assert all(isinstance(e, checks.Error) for e in errors)
    assert "assigned before insert" in errors[1].msg or "Assign ids before insert" in errors[1].msg
