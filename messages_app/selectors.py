"""Reads of messages_app. Lists return querysets so the API can paginate them."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import Prefetch, QuerySet

from .models import Message, SafetyEvent, Thread, ToolCall


def thread_list() -> QuerySet[Thread]:
    return Thread.objects.all()


def thread_get(*, thread_id: uuid.UUID) -> Thread:
    """The thread, or Thread.DoesNotExist (the API answers 404)."""
    return Thread.objects.get(pk=thread_id)


def message_get(*, message_id: uuid.UUID) -> Message:
    return Message.objects.select_related("thread").get(pk=message_id)


def message_list(*, thread: Thread, include_edited: bool = False) -> QuerySet[Message]:
    """Messages of ``thread`` in order, active only unless ``include_edited``.

    Tool calls come in one prefetch query, so a page costs a fixed number of queries.
    They land in the list ``prefetched_tool_calls``: reading a list is much cheaper per
    row than ``message.tool_calls.all()``, which builds a manager and a queryset.
    """
    qs = Message.objects.filter(thread=thread).prefetch_related(
        Prefetch(
            "tool_calls", queryset=ToolCall.objects.order_by("created_at", "id"), to_attr="prefetched_tool_calls"
        )
    )
    if not include_edited:
        qs = qs.filter(status=Message.Status.ACTIVE)
    return qs


def safety_event_list(
    *,
    detector: str | None = None,
    action: str | None = None,
    severity: str | None = None,
    thread_id: uuid.UUID | None = None,
    user_id: int | None = None,
    created_after: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
) -> QuerySet[SafetyEvent]:
    """Safety events filtered on their plaintext columns (detail/meta are encrypted: not filterable)."""
    qs = SafetyEvent.objects.all()
    filters = {
        "detector": detector, "action": action, "severity": severity, "thread_id": thread_id,
        "user_id": user_id, "created_at__gte": created_after, "created_at__lt": created_before,
    }
    return qs.filter(**{k: v for k, v in filters.items() if v is not None})
