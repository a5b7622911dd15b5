from django.urls import path

from secrets_app.tokens import api

urlpatterns = [
    path("auth/tokens/", api.TokenListCreateApi.as_view(), name="token-list"),
    path("auth/tokens/<int:token_id>/", api.TokenDetailApi.as_view(), name="token-detail"),
]
