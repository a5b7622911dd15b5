"""The HTTP benchmark's urlconf: the real URLs plus a trivial authenticated DRF view.

The baseline goes through the same server, middleware, DRF dispatch, default
authentication (a DB token lookup) and permission check as every API call, and then
does nothing: what the other cases cost on top of it is their own work.
"""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView


class BaselineApi(APIView):
    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("bench/baseline/", BaselineApi.as_view()),
    path("", include("platos.urls")),
]
