"""Reads of messages_app. Lists return querysets so the API can paginate them."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import Exists, OuterRef, QuerySet

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

    Tool calls are not joined here: the API pages the queryset first, then calls
    :func:`message_tool_calls_attach` on the page (one query, a fixed count per page).
    ``has_tool_calls`` lets it skip that query for a page without any.
    """
    qs = Message.objects.filter(thread=thread).annotate(
        has_tool_calls=Exists(ToolCall.objects.filter(message_id=OuterRef("pk")))
    )
    if not include_edited:
        qs = qs.filter(status=Message.Status.ACTIVE)
    return qs


def message_tool_calls_attach(*, messages: list[Message]) -> list[Message]:
    """Set ``prefetched_tool_calls`` on each message with one query for the whole page.

    Done by hand rather than with ``prefetch_related``: on a page of 100 messages
    Django's prefetch machinery cost about three times the query itself.
    """
    by_message: dict[uuid.UUID, list[ToolCall]] = {m.pk: [] for m in messages}
    # A page from message_list says which messages have tool calls (an EXISTS per row, on
    # the foreign key's index): no second round trip to the database when none has.
    wanted = [m.pk for m in messages if getattr(m, "has_tool_calls", True)]
    if wanted:
        for call in ToolCall.objects.filter(message_id__in=wanted).order_by("created_at", "id"):
            by_message[call.message_id].append(call)
    for message in messages:
        message.prefetched_tool_calls = by_message[message.pk]
    return messages


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
