"""Row-bound (pv2) envelopes for model instances: the row identity, the seal of every write,
the open of every load. The model side (save, from_db, the queryset) is ``rowmodels.py``.

A model names the fields of its rows' stable identity once (``row_identity = ("id",)``);
each of its encrypted fields then seals ``pv2`` envelopes whose associated data holds that
identity (``platos.core.envelope.encode_row``), so a value copied into another row of the
same column does not decrypt there.

Per instance, two entries of ``instance.__dict__`` (never fields, never saved):

* ``BOUND``: the identity values the stored envelopes are bound to (as loaded, or as
  last saved); a save that changes them re-seals every encrypted field.
* ``CACHE``: ``(values, row text)`` of the last identity encoded, so a save or a load
  encodes a row once, not once per field.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from platos.core.envelope import NO_ROW, DecryptionError, encrypt, row_encoder, token_key_id

BOUND = "_platos_bound"
CACHE = "_platos_row"
# (model, pk, bound values) of the instance being refreshed: its temporary copy may have
# loaded only the refreshed fields, not the identity, and must open them in the same row.
_refreshing: ContextVar[tuple | None] = ContextVar("platos_refreshing", default=None)


class Undecryptable:
    """What an encrypted column reads as when its envelope cannot be decrypted.

    It keeps the stored token so that saving the row again writes the same bytes
    back (nothing is lost because another field of the row changed). It never
    pretends to be text: ``str()`` raises the DecryptionError, so a caller that
    forgot to handle it fails loudly instead of showing ciphertext or "".
    """

    __slots__ = ("token", "error")

    def __init__(self, token: str, error: DecryptionError) -> None:
        self.token = token
        self.error = error

    @property
    def key_id(self) -> str | None:
        return self.error.key_id

    @property
    def reason(self) -> str:
        return self.error.reason

    def __str__(self) -> str:
        raise self.error

    def __repr__(self) -> str:
        return f"<Undecryptable {self.error.context} key_id={self.key_id}: {self.reason}>"

    def __bool__(self) -> bool:
        return True


class RowPending(Undecryptable):
    """A pv2 value read where its row is not known (``from_db_value`` has no row).

    A model load replaces it with the plaintext (``open_loaded``); where nothing can
    (``values()``, ``values_list()``, a historical model in a migration) it stays the
    undecryptable placeholder, never ciphertext. Its error is only built when asked for.
    """

    __slots__ = ("field",)

    def __init__(self, token: str, field) -> None:
        self.token = token
        self.field = field

    @property
    def error(self) -> DecryptionError:
        field = self.field
        return DecryptionError(NO_ROW, keyring=field.keyring, context=field.context, key_id=token_key_id(self.token))


class Sealed:
    """An envelope a row-bound field already sealed in ``pre_save``: stored as it is."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token


class RowSpec:
    """One model's row identity: its fields, and the encrypted fields bound to it."""

    def __init__(self, model, names) -> None:
        meta = model._meta
        self.model = model
        self.names = tuple(names)
        self.fields = tuple(meta.get_field(name) for name in self.names)
        self.attnames = tuple(f.attname for f in self.fields)
        self.encrypted = tuple(f for f in meta.concrete_fields if getattr(f, "row_bound", False))
        self._encode = row_encoder(self.names)
        self._python = tuple(f.to_python for f in self.fields)
        self.bound = tuple((f.attname, f) for f in self.encrypted)
        self.single = self.attnames[0] if len(self.attnames) == 1 else None  # (the usual: a UUID pk)

    def text(self, values: tuple) -> str:
        """The row text of identity values (normalised by each field's ``to_python``, so a UUID
        or an id given as text encodes as it will be loaded)."""
        return self._encode([python(v) for python, v in zip(self._python, values, strict=True)])

    def loaded(self, d: dict) -> tuple | None:
        """The identity values in an instance's ``__dict__``, or None when one is deferred."""
        try:
            return (d[self.single],) if self.single else tuple([d[a] for a in self.attnames])
        except KeyError:
            return None

    def row_of(self, instance) -> str:
        """The row text of ``instance``'s identity as it is now (what a write binds to)."""
        d = instance.__dict__
        values = self.loaded(d)
        if values is None:
            values = tuple([getattr(instance, a) for a in self.attnames])  # a deferred one loads
        cached = d.get(CACHE)
        if cached is not None and cached[0] == values:
            return cached[1]
        text = self.text(values)
        d[CACHE] = values, text
        return text

    def row_from_db(self, raw) -> str:
        """The row text of identity values as the database returns them (rotation, key_status)."""
        return self.text(raw)

    def row_from_values(self, **values) -> str:
        """The row text of an identity given by field name (``row_from_values(keyring="messages")``)."""
        return self.text(tuple(values[f.name] for f in self.fields))


def spec_of(model) -> RowSpec | None:
    """The model's RowSpec (made once per model class), or None for a column-bound model."""
    spec = getattr(model, "_platos_rowspec", False)
    if spec is False or (spec is not None and spec.model is not model):  # (inherited from a parent)
        names = getattr(model, "row_identity", None)
        spec = RowSpec(model, names) if names else None
        model._platos_rowspec = spec
    return spec


def seal(field, instance):
    """What a row-bound field's ``pre_save`` hands on: a Sealed envelope, None, or an
    Undecryptable (written back as it was read). The hot path of every save: the row
    text is encoded once per identity and kept on the instance (``CACHE``)."""
    value = getattr(instance, field.attname)
    if value is None or isinstance(value, Undecryptable):
        return value
    d = instance.__dict__
    cached = d.get(CACHE)
    spec = spec_of(type(instance))
    if cached is not None and cached[0] == spec.loaded(d):
        row = cached[1]
    else:
        row = spec.row_of(instance)
    return Sealed(encrypt(field._dumps(value), keyring=field.keyring, context=field._context, row=row))


def open_loaded(instance) -> None:
    """Open the pv2 values of an instance just loaded, in its row (called by ``from_db``).

    The hot path of every list view: one identity encoding per instance, no more calls
    than needed (the row text is not kept: a later save encodes it again if it saves).
    """
    spec = spec_of(type(instance))
    d = instance.__dict__
    values = spec.loaded(d)
    if values is None:
        values = _identity_not_loaded(instance, spec)
    d[BOUND] = values
    row = None
    for attname, field in spec.bound:
        pending = d.get(attname)
        if type(pending) is RowPending:
            if row is None:
                if values is None:
                    return  # the row is gone: the placeholders stay
                row = spec._encode(values)  # loaded values: already what to_python gives
            d[attname] = field.decrypt_stored(pending.token, row)


def _identity_not_loaded(instance, spec) -> tuple | None:
    """The stored identity of an instance loaded without it (``.only()``, a deferred field):
    the refreshed instance's when this is its temporary copy, else one query."""
    hint = _refreshing.get()
    if hint is not None and hint[0] is type(instance) and hint[1] == instance.pk and hint[2] is not None:
        return hint[2]
    if not any(type(instance.__dict__.get(f.attname)) is RowPending for f in spec.encrypted):
        return None  # nothing to open: no query
    manager = type(instance)._base_manager.db_manager(instance._state.db)
    return manager.filter(pk=instance.pk).values_list(*spec.attnames).first()


@contextmanager
def refreshing(instance):
    """Around ``refresh_from_db``: the copy it loads opens its values in ``instance``'s row."""
    token = _refreshing.set((type(instance), instance.pk, instance.__dict__.get(BOUND)))
    try:
        yield
    finally:
        _refreshing.reset(token)


def bound_changed(instance, spec) -> bool:
    """True when the identity differs from the one the stored values are bound to
    (or that one is unknown): every encrypted field must then be sealed again."""
    d = instance.__dict__
    bound = d.get(BOUND)
    if bound is None:
        return True
    return any(a in d and d[a] != b for a, b in zip(spec.attnames, bound, strict=True))


def remember_bound(instance, spec, written=None) -> None:
    """After a write of the identity fields ``written`` (attnames; None: every loaded one)
    the stored values are bound to those as they are now, and the others as they were."""
    d = instance.__dict__
    bound = d.get(BOUND) or (None,) * len(spec.attnames)
    values = tuple(
        d[a] if a in d and (written is None or a in written) else b
        for a, b in zip(spec.attnames, bound, strict=True)
    )
    d[BOUND] = None if any(v is None for v in values) else values
