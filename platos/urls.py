from django.contrib import admin
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [
    path("", include("messages_app.urls")),
    path("", include("secrets_app.urls")),
    path("", include("entities.urls")),
    path("", include("audit.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

# /healthz and /readyz are answered by platos.health.HealthMiddleware, /favicon.ico by
# whitenoise (WHITENOISE_ROOT): neither goes through URL routing.
urlpatterns = [
    # The site has no public pages: its front door is the admin ("View site" links here).
    path("", RedirectView.as_view(url=reverse_lazy("admin:index"), permanent=False), name="home"),
    path("admin/", admin.site.urls),
    path("agent/v1/", include(api_v1)),
]
