"""The admin "Keys" page: key ids, rows per key id per column, what is safe to drop.

It hangs off the KeyCanary model admin (so it appears as "Keys" in the admin index
and uses the model's view permission); the canary rows themselves are never listed
or editable, and no ciphertext is ever shown.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from platos.core.admin import ReadOnlyAdminMixin
from platos.models import KeyCanary
from platos.rotation.status import key_status


@admin.register(KeyCanary)
class KeysAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    def get_urls(self):
        # Only the status page, under the changelist's name (the admin index links to it):
        # no add/change/delete/history views for canary rows.
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.keys_view), name=name)]

    def keys_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Keys",
            "status": key_status(),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/platos/key_status.html", context)
