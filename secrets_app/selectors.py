"""Reads of the store inside one environment (who may see the environment: secrets_app.scopes)."""

from __future__ import annotations

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from secrets_app.models import Environment, EnvironmentVariable, ProviderKey, Skill


def env_var_list(*, environment: Environment) -> QuerySet[EnvironmentVariable]:
    """Variables of one environment: metadata only (the value column is deferred, never decrypted)."""
    return (
        EnvironmentVariable.objects.filter(environment=environment)
        .defer("value")
        .annotate(has_value=ExpressionWrapper(Q(value__isnull=False), output_field=BooleanField()))
        .select_related("updated_by")
    )


def env_var_get(*, environment: Environment, name: str) -> EnvironmentVariable:
    """One variable's metadata (value deferred); DoesNotExist -> 404."""
    return env_var_list(environment=environment).get(name=name)


def provider_key_list(*, environment: Environment) -> QuerySet[ProviderKey]:
    return ProviderKey.objects.filter(environment=environment).select_related("environment__project")


def provider_key_get(*, environment: Environment, key_id: int) -> ProviderKey:
    return provider_key_list(environment=environment).get(pk=key_id)


def skill_list() -> QuerySet[Skill]:
    return Skill.objects.all()


def skill_readiness(*, environment: Environment, skills) -> list[dict]:
    """Per skill: which ``required_env`` names are set in ``environment`` and which are missing.

    Names only. A variable counts as set when it has a value and, if it holds a provider
    key, that key is active (a disabled or revoked key is not served, so it is missing).
    Two queries plus the skills' own, whatever their number.
    """
    set_names = set(
        EnvironmentVariable.objects.filter(environment=environment, value__isnull=False).values_list("name", flat=True)
    )
    set_names -= set(
        ProviderKey.objects.filter(environment=environment)
        .exclude(status=ProviderKey.Status.ACTIVE)
        .values_list("env_var_name", flat=True)
    )
    rows = []
    for skill in skills:
        required = list(skill.required_env)
        present = [n for n in required if n in set_names]
        missing = [n for n in required if n not in set_names]
        rows.append({"slug": skill.slug, "name": skill.name, "required_env": required,
                     "set": present, "missing": missing, "ready": not missing})
    return rows
