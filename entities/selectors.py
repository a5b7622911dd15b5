"""Reads of connected entities."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from entities.models import ConnectedEntity


def entity_list(*, environment) -> QuerySet[ConnectedEntity]:
    return ConnectedEntity.objects.filter(environment=environment).select_related(
        "environment__project", "created_by"
    )


def entity_get(*, environment, slug: str) -> ConnectedEntity:
    return get_object_or_404(entity_list(environment=environment), slug=slug)
