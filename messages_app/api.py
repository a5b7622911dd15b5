"""REST API of messages_app under /agent/v1/: one view per use case, staff only for now.

Staff only (IsAdminUser) until the project membership of the secret-store issue
exists; then the permission narrows to members of the thread's project.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from platos.api import paginated_response

from . import selectors, services
from .models import Message, Thread
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


class CanViewMessagePlaintext(permissions.BasePermission):
    """The API answers with decrypted conversation text: the same permission the admin asks for."""

    message = "This needs the messages_app.view_message_plaintext permission."

    def has_permission(self, request, view):
        return request.user.has_perm("messages_app.view_message_plaintext")


class StaffApi(APIView):
    # Staff only until project membership scopes threads; and, like the admin, the
    # plaintext permission (a staff user without it would otherwise read everything here).
    permission_classes = [permissions.IsAdminUser, CanViewMessagePlaintext]


class ThreadListCreateApi(StaffApi):
    @extend_schema(
        tags=[TAG], operation_id="threads_list", parameters=PAGE_PARAMETERS,
        responses={200: paginated(ThreadOutputSerializer, "PaginatedThreadList"), **ERRORS},
    )
    def get(self, request):
        return paginated_response(self, selectors.thread_list(), ThreadOutputSerializer)

    @extend_schema(
        tags=[TAG], operation_id="threads_create", request=ThreadInputSerializer,
        responses={201: ThreadOutputSerializer, **ERRORS},
    )
    def post(self, request):
        data = ThreadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        thread = services.thread_create(created_by=request.user, **data.validated_data)
        return Response(ThreadOutputSerializer(thread).data, status=status.HTTP_201_CREATED)


class ThreadDetailApi(StaffApi):
    @extend_schema(tags=[TAG], operation_id="threads_retrieve", responses={200: ThreadOutputSerializer, **ERRORS})
    def get(self, request, thread_id):
        return Response(ThreadOutputSerializer(selectors.thread_get(thread_id=thread_id)).data)


class ThreadMessagesApi(StaffApi):
    ordering = "sequence"  # thread order: oldest first, by the unique sequence number

    @extend_schema(
        tags=[TAG], operation_id="threads_messages_list",
        parameters=[MessageListQuerySerializer, *PAGE_PARAMETERS],
        responses={200: paginated(MessageOutputSerializer, "PaginatedMessageList"), **ERRORS},
    )
    def get(self, request, thread_id):
        query = MessageListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        thread = selectors.thread_get(thread_id=thread_id)
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
        thread = selectors.thread_get(thread_id=thread_id)
        data = MessageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_create(thread=thread, **data.validated_data)
        return Response(MessageOutputSerializer(message).data, status=status.HTTP_201_CREATED)


class MessageEditApi(StaffApi):
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
        data = MessageEditInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revision, _rerun = services.message_edit_and_rerun(
            message=message, content=data.validated_data["content"], requested_by=request.user
        )
        return Response(MessageEditOutputSerializer(revision).data, status=status.HTTP_201_CREATED)


class ThreadForkApi(StaffApi):
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
        thread = selectors.thread_get(thread_id=thread_id)
        data = ThreadForkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = Message.objects.filter(pk=data.validated_data["message_id"], thread=thread).first()
        if message is None:
            raise ValidationError({"message_id": ["No message with this id in this thread."]})
        fork = services.thread_fork(
            thread=thread, message=message, created_by=request.user, title=data.validated_data.get("title")
        )
        return Response(ThreadOutputSerializer(fork).data, status=status.HTTP_201_CREATED)


class SafetyEventListCreateApi(StaffApi):
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
            created_after=f.get("created_after"), created_before=f.get("created_before"),
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
        thread = Thread.objects.filter(pk=d["thread"]).first()
        if thread is None:
            raise ValidationError({"thread": ["Unknown thread."]})
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
