"""Encrypted model fields: every write path stores an envelope, every read decrypts.

The context bound into each envelope is ``app_label.Model.field``, so a ciphertext
copied into another column does not decrypt there. A field of a model that declares
``row_identity`` is row-bound (pv2, ``platos.core.rowbound``): ``pre_save`` seals with
the row, the model's ``from_db`` opens with it. Otherwise (and wherever no row is known:
a historical model, a bare ``get_prep_value``) ``get_prep_value`` seals pv1.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.apps import apps
from django.core import checks, exceptions
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.lookups import Exact, IsNull

from platos.core.envelope import (
    ROW_PREFIX,
    DecryptionError,
    decrypt,
    encrypt,
    is_token,
    legacy_plaintext_readable,
    token_key_id,
)
from platos.core.keys import KEYRING_VARIABLES
from platos.core.rowbound import RowPending, Sealed, Undecryptable, seal

logger = logging.getLogger("platos.crypto")


def _check_unicode(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            "contains characters that are not valid Unicode text (lone surrogates)", code="invalid"
        ) from None

# True only inside `manage.py loaddata` (see platos/management/commands/loaddata.py).
_loading_fixtures: ContextVar[bool] = ContextVar("platos_loading_fixtures", default=False)


@contextmanager
def loading_fixtures():
    """Let envelopes of a column (from dumpdata) be stored back into that same column as they are."""
    token = _loading_fixtures.set(True)
    try:
        yield
    finally:
        _loading_fixtures.reset(token)


class _NullOnlyExact(Exact):
    """``field=None`` still works (Django turns it into ``isnull``); anything else is refused."""

    def __init__(self, lhs, rhs):
        if rhs is not None:
            field = getattr(lhs, "target", None) or getattr(lhs, "output_field", None)
            raise exceptions.FieldError(
                f"{getattr(field, 'context', 'this field')} is encrypted: it cannot be "
                "compared with a value (each write uses a fresh nonce). Only isnull works."
            )
        super().__init__(lhs, rhs)


class EncryptedFieldMixin:
    """Shared behaviour of the encrypted fields. ``keyring`` names the boundary."""

    empty_strings_allowed = True

    def __init__(self, *args, keyring: str, **kwargs):
        if keyring not in KEYRING_VARIABLES:
            raise ValueError(
                f"keyring must be one of {sorted(KEYRING_VARIABLES)}, not {keyring!r}"
            )
        self.keyring = keyring
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        # Computed once per model the field lands on (an abstract parent's copy gets its
        # own): it is read on every encrypt and decrypt.
        self._context = f"{cls._meta.label}.{self.name}"
        self.row_bound = bool(getattr(cls, "row_identity", None))  # lost on historical models: pv1

    @property
    def context(self) -> str:
        try:
            return self._context
        except AttributeError:  # a field not attached to a model yet
            return f"{self.model._meta.label}.{self.name}"

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["keyring"] = self.keyring  # a keyring *name*: never key material
        return name, path, args, kwargs

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        for attr, code in (("unique", "E101"), ("db_index", "E102"), ("primary_key", "E103")):
            if getattr(self, attr, False):
                errors.append(
                    checks.Error(
                        f"Encrypted fields cannot be {attr}: every write has a fresh "
                        "nonce, so equal values never look equal in the database.",
                        obj=self,
                        id=f"platos.{code}",
                    )
                )
        return errors

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        if value is not None and not isinstance(value, Undecryptable):
            self.check_storable(value)

    def check_storable(self, value) -> None:
        """Raise ValidationError for a value that could be stored but never served back."""
        raise NotImplementedError

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return IsNull
        if lookup_name == "exact":
            return _NullOnlyExact
        raise exceptions.FieldError(
            f"{self.context} is encrypted: lookup '{lookup_name}' would compare "
            "ciphertext and silently match nothing. Only isnull works."
        )

    def get_transform(self, name):
        return None

    # --- serialisation of Python values <-> text ---------------------------------
    def _dumps(self, value) -> str:
        raise NotImplementedError

    def _loads(self, text: str):
        raise NotImplementedError

    def check_legacy(self, stored: str) -> None:
        """Raise ValueError when a legacy plaintext value is not of this column's type (rotation)."""
        self._loads(stored)

    # --- writes ---------------------------------------------------------------
    row_bound = False

    def pre_save(self, model_instance, add):
        if self.row_bound:
            return seal(self, model_instance)
        return super().pre_save(model_instance, add)

    def get_prep_value(self, value):
        if value is None:
            return None
        if type(value) is Sealed:
            return value.token
        if isinstance(value, Undecryptable):
            return value.token  # write back exactly what was read
        if _loading_fixtures.get() and is_token(value):
            # A dumpdata envelope, restored exactly as it was dumped: also one this
            # process cannot decrypt (an old key, an undecryptable row). Wrapping it
            # again would turn it into "plaintext" that reads back as ciphertext.
            return value
        # Everything else is plaintext, even text shaped like an envelope: outside
        # loaddata, input is never taken as ciphertext, so no form or API can be used
        # as a decryption oracle by pasting a ciphertext read from the database.
        return encrypt(self._dumps(value), keyring=self.keyring, context=self.context)

    # --- reads ----------------------------------------------------------------
    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if self.row_bound and value.startswith(ROW_PREFIX):
            return RowPending(value, self)  # opened by the model's from_db, with the row
        return self.decrypt_stored(value)

    def decrypt_stored(self, value: str, row: str | None = None):
        """Decrypt one stored value (read from the row ``row``), or return Undecryptable."""
        try:
            text = decrypt(value, keyring=self.keyring, context=self.context, row=row)
        except DecryptionError as exc:
            if legacy_plaintext_readable(value):
                text = value  # a row written before encryption was switched on
            else:
                logger.warning("undecryptable value: %s", exc)
                return Undecryptable(value, exc)
        try:
            return self._loads(text)
        except ValueError:
            exc = DecryptionError(
                "not valid JSON", keyring=self.keyring, context=self.context,
                key_id=token_key_id(value),
            )
            logger.warning("undecryptable value: %s", exc)
            return Undecryptable(value, exc)

    # --- fixtures (dumpdata / loaddata) -----------------------------------------
    def value_to_string(self, obj):
        # dumpdata (and Django's test-database serialisation) write an envelope, never
        # plaintext; loaddata stores it back as it is. A plaintext fixture is encrypted.
        value = self.value_from_object(obj)
        return None if value is None else self.get_prep_value(self.pre_save(obj, False))

    def to_python(self, value):
        return value  # never decrypts input (see get_prep_value)


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    """Text stored as an AES-256-GCM envelope. ``""`` is encrypted like any text."""

    def check_storable(self, value) -> None:
        if not isinstance(value, str):
            raise ValidationError("must be text", code="invalid")
        _check_unicode(value)

    def _dumps(self, value) -> str:
        return value if isinstance(value, str) else str(value)

    def _loads(self, text: str):
        return text


class EncryptedJSONField(EncryptedFieldMixin, models.TextField):
    """Any JSON value, stored as an envelope of its JSON text (so ``{}``/``0``/``False`` survive)."""

    def __init__(self, *args, encoder=DjangoJSONEncoder, **kwargs):
        self.encoder = encoder
        super().__init__(*args, **kwargs)

    def _dumps(self, value) -> str:
        # What json.dumps(value, cls=self.encoder, ...) does, with the encoder made once
        # per encoder class instead of per call (a visible part of a small value's cost).
        # allow_nan=False: NaN/Infinity are not JSON, and no API could serve them back.
        made = self.__dict__.get("_json_encoder")
        if made is None or type(made) is not self.encoder:
            made = self._json_encoder = self.encoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return made.encode(value)

    def check_storable(self, value) -> None:
        try:
            text = self._dumps(value)
        except (TypeError, ValueError):
            raise ValidationError("must be a JSON value (no NaN or Infinity)", code="invalid") from None
        _check_unicode(text)

    def _loads(self, text: str):
        return json.loads(text)

    def formfield(self, **kwargs):
        from django import forms

        return super(models.TextField, self).formfield(
            **{"form_class": forms.JSONField, "encoder": self.encoder, **kwargs}
        )

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.encoder is not DjangoJSONEncoder:
            kwargs["encoder"] = self.encoder
        return name, path, args, kwargs


def encrypted_fields(keyring: str | None = None) -> Iterator[models.Field]:
    """Every encrypted column of every installed concrete model: the rotation registry."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.local_concrete_fields:
            if isinstance(field, EncryptedFieldMixin) and keyring in (None, field.keyring):
                yield field
