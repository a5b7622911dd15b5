"""REST routes of this app, mounted under /agent/v1/ by platos/urls.py."""

from django.urls import path

from . import api

urlpatterns = [
    path("threads/", api.ThreadListCreateApi.as_view(), name="threads"),
    path("threads/<uuid:thread_id>/", api.ThreadDetailApi.as_view(), name="thread-detail"),
    path("threads/<uuid:thread_id>/messages/", api.ThreadMessagesApi.as_view(), name="thread-messages"),
    path("threads/<uuid:thread_id>/fork/", api.ThreadForkApi.as_view(), name="thread-fork"),
    path("messages/<uuid:message_id>/edit/", api.MessageEditApi.as_view(), name="message-edit"),
    path("safety-events/", api.SafetyEventListCreateApi.as_view(), name="safety-events"),
]
