"""Projects, environments, roles, the secret store, provider keys, skills.

Projects, environments and memberships have no service (the admin writes them) and
no rule beyond their constraints: plain model factories. Env vars and provider keys
go through ``env_var_create`` / ``provider_key_create``: encrypted, versioned, audited.
"""

from __future__ import annotations

import factory

from secrets_app.models import Environment, EnvironmentVariable, Project, ProjectMembership, ProviderKey, Skill
from secrets_app.services import env_var_create, provider_key_create
from tests.factories.base import ServiceFactory
from tests.factories.users import UserFactory


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        django_get_or_create = ("slug",)  # ``ProjectFactory(slug="acme")`` twice is one project

    slug = factory.Sequence(lambda n: f"project{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class EnvironmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Environment

    project = factory.SubFactory(ProjectFactory)
    slug = factory.Sequence(lambda n: f"env{n}")


class ProjectMembershipFactory(factory.django.DjangoModelFactory):
    """A role in a project: ``role="admin"`` writes and reveals, ``"member"`` reads."""

    class Meta:
        model = ProjectMembership

    user = factory.SubFactory(UserFactory)
    project = factory.SubFactory(ProjectFactory)
    role = ProjectMembership.Role.MEMBER


class EnvironmentVariableFactory(ServiceFactory):
    """One variable of the store, written by ``env_var_create`` (ciphertext at rest, one audit row)."""

    class Meta:
        model = EnvironmentVariable

    environment = factory.SubFactory(EnvironmentFactory)
    name = factory.Sequence(lambda n: f"VAR_{n}")
    value = factory.Sequence(lambda n: f"value-{n}")
    kind = EnvironmentVariable.Kind.PLAIN
    actor = "system:test"

    service = staticmethod(env_var_create)


class ProviderKeyFactory(ServiceFactory):
    """A provider key by ``provider_key_create``: the secret lands in the store, metadata here."""

    class Meta:
        model = ProviderKey

    environment = factory.SubFactory(EnvironmentFactory)
    provider = ProviderKey.Provider.OPENAI
    label = factory.Sequence(lambda n: f"key{n}")
    secret = factory.Sequence(lambda n: f"sk-proj-factory{n:06d}abcdefghijklmnop")
    actor = "system:test"

    service = staticmethod(provider_key_create)


class SkillFactory(factory.django.DjangoModelFactory):
    """A skill and the env var names it needs; validated as the admin form validates it."""

    class Meta:
        model = Skill

    slug = factory.Sequence(lambda n: f"skill-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    required_env = factory.LazyFunction(list)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        skill = model_class(*args, **kwargs)
        skill.full_clean()
        skill.save()
        return skill
