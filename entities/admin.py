"""Admin for connected entities. The secret is never shown here except on the reveal page.

Create and regenerate go through the services, then park the new secret in the
reveal store and redirect to ``<id>/initial-secret/``. The reveal token lives in
the admin's session (never in a URL, so it is not in access logs or history):
another user, or the same user after the one take, has nothing to present.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_variables

from entities import services
from entities.models import ConnectedEntity
from platos.core.admin import object_for_post_action

SESSION_KEY = "platos.entities.reveal"  # {entity id: token | "" (store unavailable)}
SECRET_FIELDS = ("service_secret", "previous_service_secret")
# Regenerate's grace window: how long the old secret keeps authenticating (the service allows 0..24 h).
GRACE_CHOICES = [(0, "none: the old secret stops working now"), (300, "5 minutes"), (3600, "1 hour"),
                 (86400, "24 hours")]


def _pending(request) -> dict:
    return dict(request.session.get(SESSION_KEY, {}))


@sensitive_variables("secret")
def _park_and_remember(request, entity: ConnectedEntity, secret: str) -> None:
    token = services.entity_secret_park(entity=entity, user=request.user, secret=secret)
    pending = _pending(request)
    pending[str(entity.pk)] = token or ""
    request.session[SESSION_KEY] = pending


@admin.register(ConnectedEntity)
class ConnectedEntityAdmin(admin.ModelAdmin):
    list_display = ("slug", "display_name", "scope", "status", "secret_prefix", "last_connected_at",
                    "secret_rotated_at", "created_at")
    list_filter = ("status", "environment__project", "environment")
    search_fields = ("slug", "display_name", "environment__project__slug", "environment__slug")
    date_hierarchy = "created_at"
    list_select_related = ("environment__project",)
    readonly_fields = ("id", "status", "secret_prefix", "last_connected_at", "secret_rotated_at",
                       "previous_secret_valid_until", "created_by", "created_at")
    actions = ["regenerate_secret", "disable"]
    change_form_template = "admin/entities/connectedentity/change_form.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("environment", "slug", "display_name", "base_url")
        return ("environment", "slug", "display_name", "base_url", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("environment", "slug", *self.readonly_fields)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "base_url":
            kwargs["assume_scheme"] = "https"
            kwargs["label"] = "Base URL"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False  # disable instead: the audit trail keeps referring to the entity

    def lookup_allowed(self, lookup, value, request=None):
        if lookup.split("__")[0] in SECRET_FIELDS:
            return False
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="scope", ordering="environment__project__slug")
    def scope(self, obj):
        return obj.scope

    # --- writes through the services -------------------------------------------------
    @sensitive_variables("secret")
    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.entity_update(entity=obj, actor=request.user, request=request,
                                   display_name=data["display_name"], base_url=data["base_url"])
            return
        # The service saves the form's own object, so the admin's bookkeeping (LogEntry,
        # the redirect) continues with a saved entity.
        entity, secret = services.entity_create(
            environment=data["environment"], actor=request.user, request=request, instance=obj,
            slug=data["slug"], display_name=data["display_name"], base_url=data["base_url"],
        )
        _park_and_remember(request, entity, secret)
        del secret
        obj.service_secret = None  # the admin keeps no plaintext on the object it logs and redirects with

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(self._reveal_url(obj))

    @admin.action(description="Regenerate the secret (old one invalid at once)", permissions=["change"])
    def regenerate_secret(self, request, queryset):
        entities = list(queryset[:2])
        if len(entities) != 1:
            self.message_user(request, "Regenerate one entity at a time (its secret is revealed once).",
                              messages.ERROR)
            return None
        try:
            entity, secret = services.entity_secret_regenerate(entity=entities[0], actor=request.user,
                                                               request=request)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return None
        _park_and_remember(request, entity, secret)
        del secret
        return HttpResponseRedirect(self._reveal_url(entity))

    @admin.action(description="Disable (refuse all auth)", permissions=["change"])
    def disable(self, request, queryset):
        count = 0
        for entity in queryset:
            services.entity_disable(entity=entity, actor=request.user, request=request)
            count += 1
        self.message_user(request, f"Disabled {count} entit{'y' if count == 1 else 'ies'}.")

    # --- buttons on the change page ---------------------------------------------------
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "grace_choices": GRACE_CHOICES}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _entity_for_change(self, request, entity_id) -> ConnectedEntity:
        entities = ConnectedEntity.objects.select_related("environment__project")
        return object_for_post_action(self, request, entities, entity_id)

    @sensitive_variables("secret")
    def regenerate_view(self, request, entity_id):
        entity = self._entity_for_change(request, entity_id)
        try:
            grace = int(request.POST.get("grace_seconds", "0"))
        except ValueError:
            grace = -1  # the service refuses it with its own message
        try:
            entity, secret = services.entity_secret_regenerate(entity=entity, actor=request.user,
                                                               grace_seconds=grace, request=request)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:entities_connectedentity_change", args=[entity.pk]))
        _park_and_remember(request, entity, secret)
        del secret
        return HttpResponseRedirect(self._reveal_url(entity))

    def disable_view(self, request, entity_id):
        entity = self._entity_for_change(request, entity_id)
        services.entity_disable(entity=entity, actor=request.user, request=request)
        self.message_user(request, f"{entity.slug} is disabled: every request it makes is refused.")
        return HttpResponseRedirect(reverse("admin:entities_connectedentity_change", args=[entity.pk]))

    # --- the one-time reveal page ------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<uuid:entity_id>/regenerate/", view(self.regenerate_view),
                 name="entities_connectedentity_regenerate"),
            path("<uuid:entity_id>/disable/", view(self.disable_view), name="entities_connectedentity_disable"),
            path("<uuid:entity_id>/initial-secret/", self.admin_site.admin_view(self.initial_secret_view),
                 name="entities_connectedentity_initial_secret"),
            *super().get_urls(),
        ]

    def _reveal_url(self, entity) -> str:
        return reverse("admin:entities_connectedentity_initial_secret", args=[entity.pk])

    @sensitive_variables("page")
    def initial_secret_view(self, request, entity_id):
        entity = get_object_or_404(ConnectedEntity.objects.select_related("environment__project"), pk=entity_id)
        if not self.has_change_permission(request, entity):
            raise PermissionDenied
        if request.method not in ("GET", "POST"):
            raise Http404
        pending = _pending(request)
        take = request.method == "POST"
        if take:
            parked = pending.pop(str(entity.pk), None)
            request.session[SESSION_KEY] = pending  # the session forgets the token before the take
        else:
            parked = pending.get(str(entity.pk))
        page = services.entity_reveal_page(entity=entity, user=request.user, parked=parked, take=take,
                                           request=request)
        if page.keep_token:  # the store was down for this take: the secret may still be parked
            request.session[SESSION_KEY] = {**_pending(request), str(entity.pk): parked}
        if take and request.headers.get("Accept") == "application/json":
            response = JsonResponse({"state": page.state, "secret": page.secret})
        else:
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta, "entity": entity, "state": page.state, "secret": page.secret,
                "title": f"Service secret of {entity.slug}",
                "change_url": reverse("admin:entities_connectedentity_change", args=[entity.pk]),
            }
            response = TemplateResponse(request, "admin/entities/initial_secret.html", context)
        add_never_cache_headers(response)  # Cache-Control: no-store (and friends) on every state
        return response
