"""The admin "Keys" page (key ids, rows per key id per column, what is safe to drop) and the TOTP devices.

It hangs off the KeyCanary model admin (so it appears as "Keys" in the admin index
and uses the model's view permission); the canary rows themselves are never listed
or editable, and no ciphertext is ever shown.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from audit.models import AuditEvent
from audit.services import audit_record
from platos.core.admin import ReadOnlyAdminMixin
from platos.models import EncryptedTOTPDevice, KeyCanary
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


@admin.register(EncryptedTOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    """Admins' TOTP devices: who, which, since when. Never the seed (only the enrolment page
    shows it, once). A lost device is deleted here; its owner enrols again at the next login."""

    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__username", "name")
    fields = ("user", "name", "confirmed", "created_at", "last_used_at", "step", "digits", "tolerance", "drift",
              "throttling_failure_count", "throttling_failure_timestamp")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # devices are enrolled by their owner (/admin/mfa/enrol/)

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        self._record_reset(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        self._record_reset(request, list(queryset.select_related("user")))
        super().delete_queryset(request, queryset)

    @staticmethod
    def _record_reset(request, devices):
        # Deleting a device resets a second factor: who did it, to whose device, never its seed.
        for device in devices:
            audit_record(action=AuditEvent.Action.ADMIN_MFA_RESET, success=True, actor=request.user,
                         request=request, subject_type=AuditEvent.Subject.MFA_DEVICE, subject_id=str(device.pk),
                         extra={"user": device.user.get_username(), "device_name": device.name[:200]})

    def lookup_allowed(self, lookup, value, request=None):
        if lookup.split("__")[0] == "key":
            return False
        return super().lookup_allowed(lookup, value, request)
