"""The one rule of these factories: a model with business rules is created by its service.

``ServiceFactory`` turns ``Factory.create(...)`` into a call of the app's own
``*_create`` / ``*_record`` service, so secrets are encrypted, versions set and audit
rows chained exactly as in production. Building an unsaved instance (``.build()``)
is refused: saving it later would write around the service.
"""

from __future__ import annotations

import factory


class ServiceFactory(factory.django.DjangoModelFactory):
    """A factory whose ``create`` calls ``service(**declarations)``; subclasses set ``service``."""

    class Meta:
        abstract = True

    @staticmethod
    def service(**kwargs):  # pragma: no cover - always overridden
        raise NotImplementedError

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return cls.service(**kwargs)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError(f"{cls.__name__} creates through its service; use .create(), not .build()")
