"""REST routes of this app, mounted under /agent/v1/ by platos/urls.py."""

from django.urls import path

from audit.api import AdminAuditListApi

urlpatterns = [
    path("monitoring/admin-audit", AdminAuditListApi.as_view(), name="monitoring-admin-audit"),
]
