"""Threads, messages, tool calls, safety events: each by its service (content encrypted at rest)."""

from __future__ import annotations

import factory

from messages_app import services
from messages_app.models import Message, SafetyEvent, Thread, ToolCall
from tests.factories.base import ServiceFactory


class ThreadFactory(ServiceFactory):
    class Meta:
        model = Thread

    title = factory.Sequence(lambda n: f"thread {n}")
    created_by = None
    project = None
    environment = None

    service = staticmethod(services.thread_create)


class MessageFactory(ServiceFactory):
    """The next message of ``thread`` (``message_create`` gives it its sequence number)."""

    class Meta:
        model = Message

    thread = factory.SubFactory(ThreadFactory)
    role = Message.Role.USER
    content = factory.Sequence(lambda n: f"message {n}")
    thinking_content = None

    service = staticmethod(services.message_create)


class ToolCallFactory(ServiceFactory):
    class Meta:
        model = ToolCall

    message = factory.SubFactory(MessageFactory, role=Message.Role.ASSISTANT)
    tool_name = "search"
    call_id = factory.Sequence(lambda n: f"call_{n}")
    arguments = factory.Sequence(lambda n: {"query": f"q{n}"})
    result = None

    service = staticmethod(services.tool_call_record)


class SafetyEventFactory(ServiceFactory):
    """An event of ``thread``; given a ``message``, the thread is that message's."""

    class Meta:
        model = SafetyEvent

    message = None
    thread = factory.Maybe(
        "message", yes_declaration=factory.SelfAttribute("message.thread"),
        no_declaration=factory.SubFactory(ThreadFactory),
    )
    detector = SafetyEvent.Detector.PII
    action = SafetyEvent.Action.FLAG
    severity = SafetyEvent.Severity.LOW
    user_id = None
    detail = None
    meta = None

    service = staticmethod(services.safety_event_record)
