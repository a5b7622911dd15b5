"""Users: plain, staff, superuser. ``password=None`` (the default) leaves an unusable password."""

from __future__ import annotations

import factory
from django.conf import settings


class UserFactory(factory.django.DjangoModelFactory):
    """A user created the way Django's manager creates one (``create_user`` hashes the password)."""

    class Meta:
        model = settings.AUTH_USER_MODEL

    username = factory.Sequence(lambda n: f"user{n}")
    email = ""
    password = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class._default_manager.create_user(*args, **kwargs)


class StaffUserFactory(UserFactory):
    """May log in to the admin; sees only what its permissions allow."""

    is_staff = True


class SuperUserFactory(UserFactory):
    """Every permission, every project (``create_superuser``)."""

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class._default_manager.create_superuser(*args, **kwargs)
