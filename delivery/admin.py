"""Incidents, incident sources and the production changes the DORA keys count, in the admin.

Every write goes through ``delivery.incidents`` and ``delivery.sources`` with the signed-in user
as the actor, on the machinery of ``relcal.admin.service_admin``: a refusal (resolved before
opened, a cause of another team's, a permission) becomes a form error and nothing is stored.
Who may change what follows ``delivery.permissions``: members of the team of a service an
incident affects, release managers and SRE enter and resolve incidents; release managers and
SRE manage the sources. Staff read the incidents they may see.

A source's signing secret is never shown in a list or on its page: one Relcal generates is
shown once, in the message after saving; enter the tool's own instead when it makes one
(PagerDuty does).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from relcal.admin.service_admin import (
    ReadOnlyAdmin,
    ServiceModelAdmin,
    ServiceModelForm,
    ServiceRefused,
)
from reliability.models import Service
from reliability.permissions import sees_every_service
from reliability.selectors import visible_services

from . import incidents, selectors, sources
from . import permissions as perms
from .models import Incident, IncidentSource, ProductionChange


def _staff(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_staff


# --- Incidents -----------------------------------------------------------------------------------


@admin.register(Incident)
class IncidentAdmin(ServiceModelAdmin):
    list_display = (
        "title",
        "severity",
        "service_names",
        "opened_at",
        "resolved_at",
        "cause",
        "source",
    )
    list_filter = ("severity", ("source", admin.RelatedOnlyFieldListFilter))
    search_fields = ("title", "external_id")
    date_hierarchy = "opened_at"
    list_select_related = ("source", "deployment__environment", "release")
    raw_id_fields = ("deployment",)
    autocomplete_fields = ("release",)
    filter_horizontal = ("services",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("title", "severity", "services", "opened_at", "resolved_at", "url")}),
        (
            "Cause",
            {
                "fields": ("deployment", "release"),
                "description": "The production deployment or the release that caused it, when "
                "known: it counts as a failed change (for the release, its latest production "
                "deployment before the incident opened).",
            },
        ),
        ("Reported", {"fields": ("source", "external_id", "reported_by", "created_at")}),
    )
    readonly_fields = ("source", "external_id", "reported_by", "created_at")
    service_fields = incidents.INCIDENT_FIELDS

    def get_queryset(self, request):
        queryset = super().get_queryset(request).prefetch_related("services")
        queryset = queryset.annotate(release_visible=selectors.release_visible_flag(request.user))
        return selectors.visible_incidents(request.user, queryset)

    @admin.display(description="services")
    def service_names(self, incident: Incident) -> str:
        return ", ".join(sorted(service.name for service in incident.services.all())) or "—"

    @admin.display(description="cause")
    def cause(self, incident: Incident) -> str:
        if incident.deployment_id is not None:
            return f"deployment #{incident.deployment_id} ({incident.deployment.version})"
        if incident.release_id is not None:
            # A release the reader may not see stays unnamed.
            visible = getattr(incident, "release_visible", True)
            return f"release {incident.release.name}" if visible else "a release"
        return "—"

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "services":
            kwargs["queryset"] = visible_services(request.user, Service.objects.all())
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_module_permission(self, request) -> bool:
        return _staff(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _staff(request)

    def has_add_permission(self, request) -> bool:
        return _staff(request) and perms.can_report_some_incident(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        if not _staff(request):
            return False
        if obj is None:
            return perms.can_report_some_incident(request.user)
        return perms.can_change_incident(request.user, obj.services.all())

    def has_delete_permission(self, request, obj=None) -> bool:
        return _staff(request) and perms.can_delete_incident(request.user)

    def service_create(self, request, data):
        return incidents.incident_open(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        incidents.incident_update(actor=request.user, incident=obj, **changes)

    def service_delete(self, request, obj) -> None:
        incidents.incident_delete(actor=request.user, incident=obj)

    def save_related(self, request, form, formsets, change) -> None:
        # The services were set by the service, with the rest: no second write.
        pass


# --- Incident sources ----------------------------------------------------------------------------


class IncidentSourceForm(ServiceModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Never sent to the browser, and empty means "keep": not a change.
        self.initial.pop("secret", None)

    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The secret the tool signs deliveries with (at least 16 characters): paste "
        "PagerDuty's here. Empty: keep the current one (a new source: Relcal generates one and "
        "shows it once).",
    )
    new_secret = forms.BooleanField(
        required=False,
        label="Generate a new secret",
        help_text="Replace the secret with a generated one, shown once after saving; "
        "deliveries signed with the old one are refused from then on.",
    )


@admin.register(IncidentSource)
class IncidentSourceAdmin(ServiceModelAdmin):
    form = IncidentSourceForm
    list_display = ("name", "slug", "kind", "defaults", "incident_count", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("default_services",)
    readonly_fields = ("endpoint",)
    service_fields = sources.SOURCE_FIELDS

    def get_fields(self, request, obj=None):
        fields = ["name", "slug", "kind", "secret", "default_services"]
        return [*fields, "new_secret", "endpoint"] if obj is not None else fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("default_services")
            .annotate(incident_total=Count("incidents"))
        )

    @admin.display(description="default services")
    def defaults(self, source: IncidentSource) -> str:
        return ", ".join(service.name for service in source.default_services.all()) or "—"

    @admin.display(description="incidents", ordering="incident_total")
    def incident_count(self, source: IncidentSource) -> int:
        return source.incident_total

    @admin.display(description="webhook URL")
    def endpoint(self, source: IncidentSource) -> str:
        path = reverse("api-v1:incident-source-events", args=[source.slug])
        header = "X-PagerDuty-Signature" if source.kind == "pagerduty" else "X-Relcal-Signature"
        return format_html(
            "<code>{}</code><div class='help'>POST deliveries here, signed in {}.</div>",
            path,
            header,
        )

    def has_module_permission(self, request) -> bool:
        return _staff(request) and perms.can_manage_sources(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and form.cleaned_data.get("new_secret"):
            try:
                updated = sources.source_new_secret(actor=request.user, source=obj)
            except (ValidationError, PermissionDenied) as error:
                raise ServiceRefused(None, error) from error
            self._show_secret(request, updated)

    def _show_secret(self, request, source: IncidentSource) -> None:
        if source.new_secret:
            self.message_user(
                request,
                f"The signing secret of “{source.name}” is {source.new_secret} — copy it into "
                "the tool now: it is not shown again.",
                messages.WARNING,
            )

    def service_create(self, request, data):
        source = sources.source_create(actor=request.user, **data)
        self._show_secret(request, source)
        return source

    def service_update(self, request, obj, changes) -> None:
        sources.source_update(actor=request.user, source=obj, **changes)

    def service_delete(self, request, obj) -> None:
        sources.source_delete(actor=request.user, source=obj)

    def save_related(self, request, form, formsets, change) -> None:
        pass  # the default services were set by the service


# --- Production changes --------------------------------------------------------------------------


@admin.register(ProductionChange)
class ProductionChangeAdmin(ReadOnlyAdmin):
    """The facts the DORA keys count, written by ``delivery.changes`` when a production
    deployment finishes (and kept current when a rollback, a hotfix or an incident fails it)."""

    list_display = (
        "deployment",
        "team",
        "release",
        "finished_at",
        "lead_time",
        "failed",
        "failure",
    )
    list_filter = ("failed", "failure", ("team", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "finished_at"
    list_select_related = ("deployment__environment", "team", "release")
    show_full_result_count = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if sees_every_service(request.user):
            return queryset
        visible = selectors.teams_for_filter(request.user).values("pk")
        return queryset.filter(Q(team__in=visible))

    @admin.display(description="lead time", ordering="lead_time_seconds")
    def lead_time(self, change: ProductionChange) -> str:
        seconds = change.lead_time_seconds
        if seconds is None:
            return "—"
        hours, rest = divmod(seconds, 3600)
        return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min"

    def has_module_permission(self, request) -> bool:
        return _staff(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _staff(request)
