"""REST routes of this app, mounted under /agent/v1/ by platos/urls.py."""

from django.urls import path

from entities import api

base = "projects/<slug:project>/environments/<slug:environment>/entities/"

urlpatterns = [
    path(base, api.EntityListCreateApi.as_view(), name="entity-list"),
    path(base + "<slug:slug>/", api.EntityDetailApi.as_view(), name="entity-detail"),
    path(base + "<slug:slug>/disable/", api.EntityDisableApi.as_view(), name="entity-disable"),
    path(base + "<slug:slug>/regenerate-secret/", api.EntityRegenerateSecretApi.as_view(),
         name="entity-regenerate-secret"),
    path("entity/whoami", api.EntityWhoamiApi.as_view(), name="entity-whoami"),
    path("entity/heartbeat", api.EntityHeartbeatApi.as_view(), name="entity-heartbeat"),
]
