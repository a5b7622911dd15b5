"""The model side of row-bound envelopes: a model whose encrypted fields are bound to its rows.

Declare the identity and derive from ``RowBoundModel``::

    class Message(RowBoundModel):
        row_identity = ("id",)  # field names; values known before the insert

Then every write path seals pv2 with the row and every load opens with it:

* ``save()`` (insert and update) and ``create()``: the fields' ``pre_save``; a save that
  changes an identity field (``version += 1``) re-seals every encrypted field, adding them
  to ``update_fields`` and loading deferred ones first.
* ``bulk_create``: ``pre_save`` per object. ``bulk_update``: sealed per object here
  (Django does not call ``pre_save`` there).
* ``QuerySet.update()`` of an encrypted field (other than to NULL) or of an identity
  field is refused: it cannot seal per row.
* loads (querysets, ``select_related``, ``refresh_from_db``, deferred fields): ``from_db``.
  ``values()`` / ``values_list()`` of an encrypted field give the undecryptable placeholder.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.apps import apps
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import models

from platos.core import rowbound
from platos.core.fields import EncryptedFieldMixin

_DB_ASSIGNED = ("AutoField", "BigAutoField", "SmallAutoField")
# True inside RowBoundQuerySet.bulk_update: Django's update() under it carries values sealed per row.
_bulk_sealed: ContextVar[bool] = ContextVar("platos_bulk_sealed", default=False)


class RowBoundQuerySet(models.QuerySet):
    def update(self, **kwargs):
        spec = rowbound.spec_of(self.model)
        if spec is not None and not _bulk_sealed.get():
            for name, value in kwargs.items():
                field = self.model._meta.get_field(name)
                if field in spec.fields:
                    raise FieldError(
                        f"{self.model._meta.label}.{name} is part of the row identity of its encrypted "
                        "fields: update() would leave them bound to the old row. Save each instance "
                        "(which re-seals them) or use bulk_update()."
                    )
                if field in spec.encrypted and value is not None:
                    raise FieldError(
                        f"{field.context} is row-bound: update() cannot seal a value per row. "
                        "Save each instance or use bulk_update()."
                    )
        return super().update(**kwargs)

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        spec = rowbound.spec_of(self.model)
        if spec is None:
            return super().bulk_update(objs, fields, batch_size=batch_size)
        objs, names = list(objs), list(fields)
        meta = self.model._meta
        touched = {meta.get_field(name) for name in names}
        if touched & set(spec.fields):  # a new identity: every encrypted field is sealed again
            names += [f.name for f in spec.encrypted if f not in touched]
            touched.update(spec.encrypted)
        sealing = [f for f in spec.encrypted if f in touched]
        kept = []
        try:
            for obj in objs:
                for field in sealing:
                    value = getattr(obj, field.attname)  # a deferred value loads in its old row
                    kept.append((obj, field.attname, value))
                for field in sealing:
                    obj.__dict__[field.attname] = rowbound.seal(field, obj)
            sealed = _bulk_sealed.set(True)
            try:
                written = super().bulk_update(objs, names, batch_size=batch_size)
            finally:
                _bulk_sealed.reset(sealed)
        finally:
            for obj, attname, value in kept:
                obj.__dict__[attname] = value
        written_identity = {f.attname for f in spec.fields if f in touched}
        for obj in objs:
            rowbound.remember_bound(obj, spec, written_identity)
        return written

    bulk_update.alters_data = True


class RowBoundManager(models.Manager.from_queryset(RowBoundQuerySet)):
    pass


class RowBoundModel(models.Model):
    """Base of every model whose encrypted fields are row-bound (see the module docstring)."""

    row_identity: tuple[str, ...]  # declared by each model (checked: platos.E104-E107)

    objects = RowBoundManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        spec = rowbound.spec_of(type(self))
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:  # (any iterable: read it once)
            update_fields = kwargs["update_fields"] = set(update_fields)
        identity = set(spec.names) | set(spec.attnames)
        writes_identity = update_fields is None or bool(set(update_fields) & identity)
        if not self._state.adding and writes_identity and rowbound.bound_changed(self, spec):
            for field in spec.encrypted:
                getattr(self, field.attname)  # deferred: load it now, in the row it is bound to
            if update_fields is not None:
                kwargs["update_fields"] = update_fields | {f.name for f in spec.encrypted}
        super().save(*args, **kwargs)
        if writes_identity:
            rowbound.remember_bound(self, spec, _attnames(spec, update_fields))

    save.alters_data = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        rowbound.open_loaded(instance)
        return instance

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        with rowbound.refreshing(self):
            super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        spec = rowbound.spec_of(type(self))
        rowbound.remember_bound(self, spec, _attnames(spec, fields))  # the refreshed ones are the database's


def _attnames(spec, names) -> set | None:
    """The identity attnames among field names/attnames ``names`` (None: all)."""
    if names is None:
        return None
    names = set(names)
    return {a for n, a in zip(spec.names, spec.attnames, strict=True) if n in names or a in names}


def _identity_errors(model) -> list:
    names = model.row_identity
    errors = []
    if not issubclass(model, RowBoundModel):
        errors.append(checks.Error(
            f"{model._meta.label} declares row_identity but does not derive from RowBoundModel: "
            "its loads would not open its row-bound values.", obj=model, id="platos.E105"))
    for name in names:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is None or not field.concrete or isinstance(field, EncryptedFieldMixin) or field.null:
            errors.append(checks.Error(
                f"{model._meta.label}.row_identity names {name!r}, which is not a concrete, non-null, "
                "unencrypted field of the model.", obj=model, id="platos.E106"))
        elif field.get_internal_type() in _DB_ASSIGNED:
            errors.append(checks.Error(
                f"{model._meta.label}.row_identity names {name!r}, an id the database assigns on "
                "insert: it is unknown when the envelope is sealed. Assign ids before insert "
                "(e.g. a UUID primary key with a default).", obj=model, id="platos.E107"))
    return errors


@checks.register(checks.Tags.models)
def check_row_identities(app_configs=None, **kwargs):
    """Every model with an encrypted field says how its rows are bound (platos.E104-E107)."""
    errors = []
    for model in apps.get_models():
        if model._meta.proxy or not any(isinstance(f, EncryptedFieldMixin) for f in model._meta.local_fields):
            continue
        if not any("row_identity" in vars(klass) for klass in model.__mro__):
            errors.append(checks.Error(
                f"{model._meta.label} has encrypted fields but no row_identity: name the fields of its "
                "rows' stable identity (or row_identity = None to keep them column-bound, pv1).",
                obj=model, id="platos.E104"))
        elif model.row_identity:
            errors.extend(_identity_errors(model))
    return errors
