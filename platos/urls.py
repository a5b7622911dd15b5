"""URLs. The operations layer: here the apps are wired to each other.

The audit log's API must know which projects a user administers, a rule of the
store (``secrets_app.scopes``) that the audit app may not import (it sits below the
store). It gets that rule here, as ``projects_for_user`` through DRF's
``as_view(**initkwargs)``: one explicit argument at the one place the route is
mounted, with no setting or registry to look up.
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from audit.api import AdminAuditListApi
from platos import mfa_views
from secrets_app import scopes

api_v1 = [
    path("", include("messages_app.urls")),
    path("", include("secrets_app.urls")),
    path("", include("entities.urls")),
    path("monitoring/admin-audit",
         AdminAuditListApi.as_view(projects_for_user=scopes.admin_project_slugs_for_user),
         name="monitoring-admin-audit"),
    path("", include("secrets_app.tokens.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

# A database outage outside DRF (the admin) is a 503 page, not a 500 (platos.api).
handler500 = "platos.api.server_error"

urlpatterns = [
    path("admin/mfa/enrol/", mfa_views.mfa_enrol, name="mfa-enrol"),
    path("admin/mfa/verify/", mfa_views.mfa_verify, name="mfa-verify"),
    path("admin/", admin.site.urls),
    path("agent/v1/", include(api_v1)),
]
