"""REST routes of this app, mounted under /agent/v1/ by platos/urls.py."""

urlpatterns: list = []
