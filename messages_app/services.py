"""Every write of messages_app. Views, admin and commands call these; they hold the rules.

Message text only ever goes through the encrypted fields: assigning plaintext to
an instance and saving it encrypts under the current write key, which is how a
fork or an edit re-encrypts ("decrypt, then re-encrypt") without a special path.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from audit.models import AuditEvent
from audit.services import audit_record

from .crypto_service import MessageCryptoService, PlaintextView
from .models import Message, PendingRerun, SafetyEvent, Thread, ToolCall


def _clean(obj) -> None:
    """``full_clean()`` with the encrypted fields checked by the fields themselves.

    ``check_storable`` refuses what could be stored but never served back (not
    text, not JSON, NaN, lone surrogates); the rest of ``full_clean`` runs without
    the encrypted fields, whose ``blank`` rules do not apply (an empty message is a
    message).
    """
    encrypted = MessageCryptoService.encrypted_field_names(type(obj))
    errors: dict[str, list[str]] = {}
    for field in type(obj)._meta.concrete_fields:
        if field.name not in encrypted:
            continue
        value = getattr(obj, field.attname)
        if value is None:
            if not field.null:
                errors[field.name] = ["This field cannot be null."]
            continue
        try:
            field.check_storable(value)
        except ValidationError as exc:
            errors[field.name] = exc.messages
    try:
        obj.full_clean(exclude=encrypted)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _lock_thread(thread: Thread) -> Thread:
    # Serialises sequence allocation per thread (a no-op lock on SQLite, which
    # serialises writers anyway).
    return Thread.objects.select_for_update().get(pk=thread.pk)


def _next_sequence(thread: Thread) -> int:
    return (Message.objects.filter(thread=thread).aggregate(m=Max("sequence"))["m"] or 0) + 1


@transaction.atomic
def thread_create(
    *,
    title: str,
    created_by=None,
    project=None,
    environment=None,
) -> Thread:
    """Start a conversation. ``created_by`` is the user starting it (may be None for system threads).

    project / environment: its scope (a Project, and an Environment of it); who may
    start one there is the caller's check (``secrets_app.scopes.conversation_may_write``).
    """
    thread = Thread(title=title, created_by=created_by, project=project, environment=environment)
    _clean(thread)
    thread.save()
    return thread


@transaction.atomic
def message_create(
    *, thread: Thread, role: str, content: str, thinking_content: str | None = None
) -> Message:
    """Append a message to ``thread``. ``content``/``thinking_content`` are plaintext; they are stored encrypted."""
    thread = _lock_thread(thread)
    message = Message(
        thread=thread,
        sequence=_next_sequence(thread),
        role=role,
        content=content,
        thinking_content=thinking_content,
    )
    _clean(message)
    message.save()
    return message


@transaction.atomic
def message_edit_and_rerun(*, message: Message, content: str, requested_by=None) -> tuple[Message, PendingRerun]:
    """Replace ``message`` by a new revision holding ``content`` and queue a rerun from it.

    The old message and everything after it in the thread become ``edited_out``
    (kept, readable with ``include_edited``). No model is called here: the
    returned ``PendingRerun`` is what the agent runtime picks up.
    """
    thread = _lock_thread(message.thread)
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status != Message.Status.ACTIVE:
        # Not a field error: the message is the URL's, so the API answers non_field_errors.
        raise ValidationError("Only an active message can be edited; this one was edited out.")
    superseded = Message.objects.filter(thread=thread, status=Message.Status.ACTIVE, sequence__gte=message.sequence)
    # A rerun still waiting for a revision that is now edited out must not run.
    PendingRerun.objects.filter(
        message__in=superseded, status=PendingRerun.Status.PENDING
    ).update(status=PendingRerun.Status.CANCELLED)
    superseded.update(status=Message.Status.EDITED_OUT)
    revision = Message(
        thread=thread,
        sequence=_next_sequence(thread),
        role=message.role,
        content=content,
        revision=message.revision + 1,
        edit_parent=message,
    )
    _clean(revision)
    revision.save()
    rerun = PendingRerun(thread=thread, message=revision, requested_by=requested_by)
    _clean(rerun)
    rerun.save()
    return revision, rerun


@transaction.atomic
def thread_fork(*, thread: Thread, message: Message, created_by=None, title: str | None = None) -> Thread:
    """A new thread holding copies of ``thread``'s active messages up to and including ``message``.

    Each copy (with its tool calls) is decrypted on read and re-encrypted under the
    current write key on save. The source thread is not modified. A message that
    cannot be decrypted stops the fork: copying its ciphertext would carry an old
    or broken envelope into the new thread under a new id.
    """
    if message.thread_id != thread.pk:
        raise ValidationError({"message_id": ["This message does not belong to the thread."]})
    if message.status != Message.Status.ACTIVE:
        raise ValidationError({"message_id": ["Only an active message can be forked from."]})
    sources = list(
        Message.objects.filter(thread=thread, status=Message.Status.ACTIVE, sequence__lte=message.sequence)
        .prefetch_related("tool_calls")
        .order_by("sequence")
    )
    for source in sources:
        readable = MessageCryptoService.is_readable(source, ("content", "thinking_content")) and all(
            MessageCryptoService.is_readable(call, ("arguments", "result")) for call in source.tool_calls.all()
        )
        if not readable:
            raise ValidationError(
                {"message_id": [f"Message {source.pk} cannot be decrypted, so the thread cannot be forked there."]},
                code="decryption_failed",
            )
    fork = Thread(
        title=title or thread.title,
        created_by=created_by,
        project_id=thread.project_id,
        environment_id=thread.environment_id,
        forked_from_thread=thread,
        forked_from_message=message,
    )
    _clean(fork)
    fork.save()
    for sequence, source in enumerate(sources, start=1):
        copy = Message(
            thread=fork,
            sequence=sequence,
            role=source.role,
            content=source.content,
            thinking_content=source.thinking_content,
            created_at=source.created_at,
        )
        _clean(copy)
        copy.save()
        for call in source.tool_calls.all():
            tool_call_record(
                message=copy, tool_name=call.tool_name, call_id=call.call_id,
                arguments=call.arguments, result=call.result,
            )
    return fork


@transaction.atomic
def tool_call_record(*, message: Message, tool_name: str, call_id: str, arguments: Any, result: Any = None) -> ToolCall:
    """Record a tool call of ``message``. ``arguments``/``result`` are any JSON value, stored encrypted."""
    call = ToolCall(message=message, tool_name=tool_name, call_id=call_id, arguments=arguments, result=result)
    _clean(call)
    call.save()
    return call


@transaction.atomic
def safety_event_record(
    *,
    thread: Thread,
    detector: str,
    action: str,
    severity: str,
    message: Message | None = None,
    user_id: int | None = None,
    detail: str | None = None,
    meta: Any = None,
) -> SafetyEvent:
    """Record what a safety detector did.

    ``user_id`` is the user the event is about; ``detail`` (text) and ``meta`` (any
    JSON value) may quote the conversation and are stored encrypted.
    """
    if message is not None and message.thread_id != thread.pk:
        raise ValidationError({"message": ["This message does not belong to the thread."]})
    event = SafetyEvent(
        thread=thread, message=message, user_id=user_id, detector=detector, action=action,
        severity=severity, detail=detail, meta=meta,
    )
    _clean(event)
    event.save()
    return event


_SUBJECT_OF = {Thread: AuditEvent.Subject.THREAD, Message: AuditEvent.Subject.MESSAGE,
               ToolCall: AuditEvent.Subject.TOOL_CALL, SafetyEvent: AuditEvent.Subject.SAFETY_EVENT}


@transaction.atomic
def message_plaintext_view_record(*, view: PlaintextView, user, model: type, object_id: str = "",
                                  request=None) -> AuditEvent | None:
    """Audit a page that showed decrypted conversation text: one row per page, none if nothing was shown.

    view: the page's PlaintextView, after rendering. model / object_id: the page's
        subject (Thread, Message or SafetyEvent; ``object_id`` empty for a list).
    If the row cannot be written the exception propagates: the page is not served.
    """
    if not view.shown:
        return None
    scope, project_id, extra = "", None, {"fields_shown": view.shown}
    thread = _thread_of(model, object_id)
    if thread is not None and thread.project_id is not None:
        # By id as well as slug: a project re-created with the same slug is another project.
        scope, project_id = thread.scope, thread.project_id
        extra["project_id"] = project_id  # kept for readers of rows written before the column
    return audit_record(
        action=AuditEvent.Action.MESSAGE_PLAINTEXT_VIEW, success=True, actor=user, request=request,
        scope=scope, project_id=project_id, subject_type=_SUBJECT_OF[model], subject_id=str(object_id or ""),
        extra=extra,
    )


def _thread_of(model: type, object_id) -> Thread | None:
    if not object_id:
        return None
    lookup = {Thread: "pk", Message: "messages__pk", ToolCall: "messages__tool_calls__pk",
              SafetyEvent: "safety_events__pk"}[model]
    try:
        return Thread.objects.select_related("project", "environment__project").filter(**{lookup: object_id}).first()
    except (ValueError, ValidationError):
        return None  # not a valid id: the admin answers 404 for it anyway
