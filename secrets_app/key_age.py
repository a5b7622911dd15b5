"""How old provider-key secrets are, and which are due for rotation.

A provider key's age runs from when its current secret was written: ``rotated_at``,
or ``created_at`` for a key never rotated. A stand-alone variable of kind
``provider_key`` (one no ``ProviderKey`` row owns) ages from ``updated_at``, the time
its version history also records as "written". Older than ``PLATOS_ROTATE_AFTER_DAYS``
(default 90) is due: ``key_status``, ``check --deploy`` (platos.W030) and the admin say
so. Revoked keys and unset variables hold no secret and are never due. Reads metadata
only: no value is decrypted here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from secrets_app.models import EnvironmentVariable, ProviderKey

DEFAULT_ROTATE_AFTER_DAYS = 90


def rotate_after_days() -> int:
    return int(getattr(settings, "PLATOS_ROTATE_AFTER_DAYS", DEFAULT_ROTATE_AFTER_DAYS))


def rotation_cutoff(*, now: datetime | None = None) -> datetime:
    """Secrets written before this instant are due for rotation."""
    return (now or timezone.now()) - timedelta(days=rotate_after_days())


def age_days(written_at: datetime | None, *, now: datetime | None = None) -> int | None:
    """Whole days since ``written_at`` (None when unknown)."""
    if written_at is None:
        return None
    return max(0, ((now or timezone.now()) - written_at).days)


def provider_key_written_at(key: ProviderKey) -> datetime:
    return key.rotated_at or key.created_at


WRITTEN_AT = Coalesce("rotated_at", "created_at")  # a ProviderKey's age, as SQL


def provider_keys_due(queryset: QuerySet[ProviderKey], *, now: datetime | None = None) -> QuerySet[ProviderKey]:
    """The keys of ``queryset`` whose secret is older than the cutoff (revoked keys excluded)."""
    return (
        queryset.exclude(status=ProviderKey.Status.REVOKED)
        .alias(written_at=WRITTEN_AT)
        .filter(written_at__lt=rotation_cutoff(now=now))
    )


def provider_key_variables_due_q(*, now: datetime | None = None) -> Q:
    """Variables of kind provider key, set, last written before the cutoff."""
    return Q(kind=EnvironmentVariable.Kind.PROVIDER_KEY, value__isnull=False,
             updated_at__lt=rotation_cutoff(now=now))


def _owned_by_a_key():
    return Exists(ProviderKey.objects.filter(environment_id=OuterRef("environment_id"),
                                             env_var_name=OuterRef("name")))


def key_age_report(*, using: str = DEFAULT_DB_ALIAS, now: datetime | None = None) -> dict:
    """Counts and the due items: provider keys, and provider-key variables no key owns.

    ``{"rotate_after_days", "provider_keys": {"checked", "due": [...]}, "variables":
    {"checked", "due": [...]}}``; each due item names its scope and key, never a value.
    """
    now = now or timezone.now()
    keys = ProviderKey.objects.using(using).exclude(status=ProviderKey.Status.REVOKED)
    due_keys = provider_keys_due(keys, now=now).select_related("environment__project").order_by(
        "rotated_at", "created_at", "pk")
    variables = (
        EnvironmentVariable.objects.using(using)
        .filter(kind=EnvironmentVariable.Kind.PROVIDER_KEY, value__isnull=False)
        .alias(owned=_owned_by_a_key())
        .filter(owned=False)
        .defer("value")
    )
    due_vars = variables.filter(provider_key_variables_due_q(now=now)).select_related(
        "environment__project").order_by("updated_at", "pk")
    return {
        "rotate_after_days": rotate_after_days(),
        "provider_keys": {
            "checked": keys.count(),
            "due": [
                {"scope": k.environment.scope, "label": k.label, "provider": k.provider, "status": k.status,
                 "written_at": provider_key_written_at(k).isoformat(),
                 "age_days": age_days(provider_key_written_at(k), now=now)}
                for k in due_keys
            ],
        },
        "variables": {
            "checked": variables.count(),
            "due": [
                {"scope": v.environment.scope, "name": v.name, "written_at": v.updated_at.isoformat(),
                 "age_days": age_days(v.updated_at, now=now)}
                for v in due_vars
            ],
        },
    }


def key_age_warnings(report: dict) -> list[str]:
    """One line per due item, for ``key_status`` and the deploy check."""
    days = report["rotate_after_days"]
    lines = [
        f"provider key '{k['label']}' ({k['provider']}) in {k['scope']} is {k['age_days']} days old "
        f"(rotate after {days}): rotate it"
        for k in report["provider_keys"]["due"]
    ]
    lines += [
        f"provider-key variable {v['name']} in {v['scope']} is {v['age_days']} days old "
        f"(rotate after {days}): set a new value"
        for v in report["variables"]["due"]
    ]
    return lines
