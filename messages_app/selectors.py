"""Reads of messages_app. Lists return querysets so the API can paginate them."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import Exists, OuterRef, Q, QuerySet

from platos.core.errors import NotFound, Refused
from secrets_app.scopes import conversation_may_write, project_list_for_user

from .crypto_service import PLAINTEXT_PERMISSION
from .models import Message, SafetyEvent, Thread, ToolCall


class ThreadNotFound(NotFound):
    """No such thread, or not one of the caller's projects (404 either way)."""


class ConversationWriteRefused(Refused):
    """The caller reads this project's conversations without a role that writes them."""


def thread_list_for_user(*, user) -> QuerySet[Thread]:
    """Threads ``user`` may read: those of its projects (any role); every scoped thread
    with ``view_message_plaintext`` (auditors: reads only); unscoped ones for superusers only."""
    if user.is_superuser:
        return Thread.objects.all()
    visible = Q(project__in=project_list_for_user(user=user))
    if user.has_perm(PLAINTEXT_PERMISSION):
        visible |= Q(project__isnull=False)
    return Thread.objects.filter(visible)


def thread_get_for_user(*, user, thread_id, write: bool = False) -> Thread:
    """The thread if ``user`` may read it (``write``: and write it), else 404 (403 when it
    may read but not write)."""
    thread = thread_list_for_user(user=user).select_related("project", "environment__project") \
        .filter(pk=thread_id).first()
    if thread is None:
        raise ThreadNotFound("No such thread.")
    if write and not conversation_may_write(user=user, project_id=thread.project_id):
        raise ConversationWriteRefused("Writing this project's conversations needs the member or admin role.")
    return thread


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
    user=None,
) -> QuerySet[SafetyEvent]:
    """Safety events filtered on their plaintext columns (detail/meta are encrypted: not filterable);
    with ``user``, only those of threads the user may read."""
    qs = SafetyEvent.objects.all() if user is None else SafetyEvent.objects.filter(
        thread__in=thread_list_for_user(user=user))
    filters = {
        "detector": detector, "action": action, "severity": severity, "thread_id": thread_id,
        "user_id": user_id, "created_at__gte": created_after, "created_at__lt": created_before,
    }
    return qs.filter(**{k: v for k, v in filters.items() if v is not None})
