"""REST API of messages_app under /agent/v1/: one view per use case.

Conversations belong to a project: any member (viewer, member, admin) reads its
threads, members and admins write them (messages, edits, forks, safety events).
``view_message_plaintext`` lets auditors read every project's threads, never write.
A thread of a project the caller cannot read is 404; unscoped threads are for
superusers only. The rule: ``messages_app.selectors.thread_get_for_user``.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from platos.api import paginated_response
from secrets_app.scopes import conversation_may_write, project_list_for_user

from . import selectors, services
from .models import Message
from .serializers import (
    MessageEditInputSerializer,
    MessageEditOutputSerializer,
    MessageInputSerializer,
    MessageListQuerySerializer,
    MessageOutputSerializer,
    SafetyEventFilterSerializer,
    SafetyEventInputSerializer,
    SafetyEventOutputSerializer,
    ThreadForkInputSerializer,
    ThreadInputSerializer,
    ThreadOutputSerializer,
    paginated,
)

TAG = "conversations"
PAGE_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="Opaque cursor from a previous `next` link."),
    OpenApiParameter("limit", OpenApiTypes.INT, description="Page size, 1-500 (default 50)."),
]
ERRORS = {400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}


class ConversationApi(APIView):
    # Who reads/writes which thread is decided per thread (selectors.thread_get_for_user).
    permission_classes = [permissions.IsAuthenticated]


class ThreadListCreateApi(ConversationApi):
    @extend_schema(
        tags=[TAG], operation_id="threads_list", parameters=PAGE_PARAMETERS,
        responses={200: paginated(ThreadOutputSerializer, "PaginatedThreadList"), **ERRORS},
    )
    def get(self, request):
        threads = selectors.thread_list_for_user(user=request.user).select_related("project", "environment")
        return paginated_response(self, threads, ThreadOutputSerializer)

    @extend_schema(
        tags=[TAG], operation_id="threads_create", request=ThreadInputSerializer,
        responses={201: ThreadOutputSerializer, **ERRORS},
    )
    def post(self, request):
        data = ThreadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project, environment = _scope_for_new_thread(request.user, data.validated_data)
        thread = services.thread_create(created_by=request.user, title=data.validated_data["title"],
                                        project=project, environment=environment)
        return Response(ThreadOutputSerializer(thread).data, status=status.HTTP_201_CREATED)


class ThreadDetailApi(ConversationApi):
    @extend_schema(tags=[TAG], operation_id="threads_retrieve", responses={200: ThreadOutputSerializer, **ERRORS})
    def get(self, request, thread_id):
        return Response(ThreadOutputSerializer(selectors.thread_get_for_user(user=request.user,
                                                                             thread_id=thread_id)).data)


class ThreadMessagesApi(ConversationApi):
    ordering = "sequence"  # thread order: oldest first, by the unique sequence number

    @extend_schema(
        tags=[TAG], operation_id="threads_messages_list",
        parameters=[MessageListQuerySerializer, *PAGE_PARAMETERS],
        responses={200: paginated(MessageOutputSerializer, "PaginatedMessageList"), **ERRORS},
    )
    def get(self, request, thread_id):
        query = MessageListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        thread = selectors.thread_get_for_user(user=request.user, thread_id=thread_id)
        messages = selectors.message_list(thread=thread, include_edited=query.validated_data["include_edited"])
        return paginated_response(
            self, messages, MessageOutputSerializer,
            prepare=lambda page: selectors.message_tool_calls_attach(messages=page),
        )

    @extend_schema(
        tags=[TAG], operation_id="threads_messages_create", request=MessageInputSerializer,
        responses={201: MessageOutputSerializer, **ERRORS},
    )
    def post(self, request, thread_id):
        thread = selectors.thread_get_for_user(user=request.user, thread_id=thread_id, write=True)
        data = MessageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_create(thread=thread, **data.validated_data)
        return Response(MessageOutputSerializer(message).data, status=status.HTTP_201_CREATED)


class MessageEditApi(ConversationApi):
    @extend_schema(
        tags=[TAG], operation_id="messages_edit",
        summary="Edit a message and queue a rerun from it",
        description=(
            "Creates a new revision of the message with the given content; the old revision and every "
            "message after it become `edited_out`. A pending rerun is queued for the agent runtime; no "
            "model is called by this request."
        ),
        request=MessageEditInputSerializer,
        responses={201: MessageEditOutputSerializer, **ERRORS},
    )
    def post(self, request, message_id):
        message = selectors.message_get(message_id=message_id)
        selectors.thread_get_for_user(user=request.user, thread_id=message.thread_id, write=True)
        data = MessageEditInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revision, _rerun = services.message_edit_and_rerun(
            message=message, content=data.validated_data["content"], requested_by=request.user
        )
        return Response(MessageEditOutputSerializer(revision).data, status=status.HTTP_201_CREATED)


class ThreadForkApi(ConversationApi):
    @extend_schema(
        tags=[TAG], operation_id="threads_fork",
        summary="Fork a thread at a message",
        description=(
            "A new thread with copies of the source's active messages up to and including `message_id`, "
            "re-encrypted under the current write key. The source thread is not changed."
        ),
        request=ThreadForkInputSerializer,
        responses={201: ThreadOutputSerializer, **ERRORS},
    )
    def post(self, request, thread_id):
        thread = selectors.thread_get_for_user(user=request.user, thread_id=thread_id, write=True)
        data = ThreadForkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = Message.objects.filter(pk=data.validated_data["message_id"], thread=thread).first()
        if message is None:
            raise ValidationError({"message_id": ["No message with this id in this thread."]})
        fork = services.thread_fork(
            thread=thread, message=message, created_by=request.user, title=data.validated_data.get("title")
        )
        return Response(ThreadOutputSerializer(fork).data, status=status.HTTP_201_CREATED)


class SafetyEventListCreateApi(ConversationApi):
    @extend_schema(
        tags=[TAG], operation_id="safety_events_list",
        parameters=[SafetyEventFilterSerializer, *PAGE_PARAMETERS],
        responses={200: paginated(SafetyEventOutputSerializer, "PaginatedSafetyEventList"), **ERRORS},
    )
    def get(self, request):
        query = SafetyEventFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        f = query.validated_data
        events = selectors.safety_event_list(
            detector=f.get("detector"), action=f.get("action"), severity=f.get("severity"),
            thread_id=f.get("thread"), user_id=f.get("user"),
            created_after=f.get("created_after"), created_before=f.get("created_before"), user=request.user,
        )
        return paginated_response(self, events, SafetyEventOutputSerializer)

    @extend_schema(
        tags=[TAG], operation_id="safety_events_create", request=SafetyEventInputSerializer,
        responses={201: SafetyEventOutputSerializer, **ERRORS},
    )
    def post(self, request):
        data = SafetyEventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        thread = selectors.thread_list_for_user(user=request.user).filter(pk=d["thread"]).first()
        if thread is None:
            raise ValidationError({"thread": ["Unknown thread."]})
        selectors.thread_get_for_user(user=request.user, thread_id=thread.pk, write=True)
        message = None
        if d.get("message"):
            message = Message.objects.filter(pk=d["message"], thread=thread).first()
            if message is None:
                raise ValidationError({"message": ["No message with this id in this thread."]})
        event = services.safety_event_record(
            thread=thread, message=message, user_id=d.get("user"), detector=d["detector"],
            action=d["action"], severity=d["severity"], detail=d.get("detail"), meta=d.get("meta"),
        )
        return Response(SafetyEventOutputSerializer(event).data, status=status.HTTP_201_CREATED)


def _scope_for_new_thread(user, data):
    """The project (and environment) of a new thread: one the caller may write conversations in."""
    project = project_list_for_user(user=user).filter(slug=data["project"]).first()
    if project is None:
        raise ValidationError({"project": ["No such project."]})
    if not conversation_may_write(user=user, project_id=project.pk):
        raise selectors.ConversationWriteRefused(
            "Starting a conversation in this project needs the member or admin role.")
    environment = None
    if data.get("environment"):
        environment = project.environments.filter(slug=data["environment"]).first()
        if environment is None:
            raise ValidationError({"environment": ["No such environment in this project."]})
    return project, environment
