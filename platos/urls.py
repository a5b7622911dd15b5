"""URLs. The operations layer: here the apps are wired to each other.

The audit log's API must know which projects a user administers, a rule of the
store (``secrets_app.scopes``) that the audit app may not import (it sits below the
store). It gets that rule here, as ``projects_for_user`` through DRF's
``as_view(**initkwargs)``: one explicit argument at the one place the route is
mounted, with no setting or registry to look up.
"""

from django.contrib import admin
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from audit.api import AdminAuditListApi
from platos import mfa_views
from secrets_app import scopes

api_v1 = [
    path("", include("messages_app.urls")),
    path("", include("secrets_app.urls")),
    path("", include("entities.urls")),
    path("monitoring/admin-audit",
         AdminAuditListApi.as_view(projects_for_user=scopes.admin_projects_for_user),
         name="monitoring-admin-audit"),
    path("", include("secrets_app.tokens.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

# /healthz and /readyz are answered by platos.health.HealthMiddleware, /favicon.ico by
# whitenoise (WHITENOISE_ROOT): neither goes through URL routing.
# A database outage outside DRF (the admin) is a 503 page, not a 500 (platos.api).
handler500 = "platos.api.server_error"

urlpatterns = [
    # The site has no public pages: its front door is the admin ("View site" links here).
    path("", RedirectView.as_view(url=reverse_lazy("admin:index"), permanent=False), name="home"),
    path("admin/mfa/enrol/", mfa_views.mfa_enrol, name="mfa-enrol"),
    path("admin/mfa/verify/", mfa_views.mfa_verify, name="mfa-verify"),
    path("admin/", admin.site.urls),
    path("agent/v1/", include(api_v1)),
]

# Under /agent/v1/ a path that matches no route (a non-UUID id, an unknown endpoint) is a JSON 404.
handler404 = "platos.api.not_found"
