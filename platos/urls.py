from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from platos import mfa_views

api_v1 = [
    path("", include("messages_app.urls")),
    path("", include("secrets_app.urls")),
    path("", include("entities.urls")),
    path("", include("audit.urls")),
    path("", include("secrets_app.tokens.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

urlpatterns = [
    path("admin/mfa/enrol/", mfa_views.mfa_enrol, name="mfa-enrol"),
    path("admin/mfa/verify/", mfa_views.mfa_verify, name="mfa-verify"),
    path("admin/", admin.site.urls),
    path("agent/v1/", include(api_v1)),
]
