"""Services, SLOs, error-budget policies, and the measurements and snapshots behind them, in the
admin.

Every write goes through ``reliability.services`` with the signed-in user as the actor, on the
machinery of ``relcal.admin.service_admin``: a refusal (an objective out of range, PromQL that
Prometheus refuses, a permission) becomes a form error and nothing is stored. Who may change
what follows ``reliability.permissions``, not Django's model permissions: a team's members, release
managers and SRE manage its services; release managers and SRE the policies. Staff read what they
may see: a private team's services only as ``reliability.selectors`` allows.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from relcal.admin.service_admin import ReadOnlyAdmin, ServiceInline, ServiceModelAdmin
from releases.models import Team

from . import budget, chart, selectors, services
from . import permissions as perms
from .models import SLO, ErrorBudgetPolicy, Measurement, Service, SLOSnapshot

SLO_EVALUATION = ("state", "alert", "budget_left", "evaluated_at", "last_error")


def _staff(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_staff


class ReadsVisible:
    """Staff read the rows they may see; writes are the services' decision."""

    visible_path = ""  # the path from the model to its Service

    def has_module_permission(self, request) -> bool:
        return _staff(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _staff(request)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset.filter(selectors.visible_service_q(request.user, self.visible_path))


def _budget_left(slo: SLO) -> str:
    if slo.budget_remaining is None:
        return "—"
    minutes = budget.slo_budget_minutes(slo) or 0.0
    return f"{chart.percent(slo.budget_remaining)} ({minutes:.1f} min of full outage)"


# --- Services and SLOs -----------------------------------------------------------------------


class SLOInline(ServiceInline):
    model = SLO
    fields = (*services.SLO_FIELDS, "state", "budget_left")
    readonly_fields = ("state", "budget_left")
    service_fields = services.SLO_FIELDS
    formfield_overrides = {
        models.TextField: {"widget": admin.widgets.AdminTextareaWidget(attrs={"rows": 2})},
        models.URLField: {"assume_scheme": "https"},
    }

    # A team's members are not given model permissions: ``can_edit`` decides.
    def has_add_permission(self, request, obj=None) -> bool:
        return self.can_edit(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.can_edit(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.can_edit(request, obj)

    def has_view_permission(self, request, obj=None) -> bool:
        return _staff(request)

    def can_edit(self, request, parent: Service | None) -> bool:
        if parent is None:
            return perms.can_manage_some_services(request.user)
        return perms.can_manage_services(request.user, parent.team)

    @admin.display(description="budget left")
    def budget_left(self, slo: SLO) -> str:
        return _budget_left(slo)

    def service_create(self, request, parent, data):
        return services.slo_create(actor=request.user, service=parent, **data)

    def service_update(self, request, obj, changes) -> None:
        services.slo_update(actor=request.user, slo=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.slo_delete(actor=request.user, slo=obj)


def _manageable_teams(request: HttpRequest):
    user = request.user
    if perms.is_release_manager(user) or perms.is_sre(user):
        return Team.objects.all()
    return Team.objects.filter(members=user)


@admin.register(Service)
class ServiceAdmin(ReadsVisible, ServiceModelAdmin):
    list_display = ("name", "slug", "team", "slo_states")
    # Filters offer only what the list holds: a private team's name stays out of it.
    list_filter = (("team", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    fields = services.SERVICE_FIELDS
    inlines = (SLOInline,)
    service_fields = services.SERVICE_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("team").prefetch_related("slos")

    @admin.display(description="SLOs")
    def slo_states(self, service: Service) -> str:
        slos = list(service.slos.all())
        return ", ".join(f"{slo.name}: {slo.get_state_display().lower()}" for slo in slos) or "—"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "team":
            kwargs["queryset"] = _manageable_teams(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request) -> bool:
        return _staff(request) and perms.can_manage_some_services(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        if not _staff(request):
            return False
        if obj is None:
            return perms.can_manage_some_services(request.user)
        return perms.can_manage_services(request.user, obj.team)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def service_create(self, request, data):
        return services.service_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        services.service_update(actor=request.user, service=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.service_delete(actor=request.user, service=obj)


@admin.register(SLO)
class SLOAdmin(ReadsVisible, ServiceModelAdmin):
    visible_path = "service__"
    list_display = (
        "__str__",
        "objective",
        "window_days",
        "source",
        "state",
        "budget_left",
        "alert",
        "evaluated_at",
    )
    list_filter = ("state", "alert", "source", ("service__team", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "service__name")
    list_select_related = ("service__team",)
    fieldsets = (
        (None, {"fields": ("service", "name", "objective", "window_days", "source")}),
        (
            "Prometheus",
            {
                "fields": ("prometheus_url", "good_query", "total_query", "error_ratio_query"),
                "description": "Put $window where the range goes, e.g. "
                'sum(rate(http_requests_total{job="api"}[$window])). The expressions are '
                "tried against Prometheus when you save.",
            },
        ),
        ("Latest evaluation", {"fields": SLO_EVALUATION}),
    )
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    service_fields = ("service", *services.SLO_FIELDS)

    @admin.display(description="budget left")
    def budget_left(self, slo: SLO) -> str:
        return _budget_left(slo)

    def get_readonly_fields(self, request, obj=None):
        # An SLO stays with its service.
        return (*SLO_EVALUATION, "service") if obj is not None else SLO_EVALUATION

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "service":
            kwargs["queryset"] = Service.objects.filter(team__in=_manageable_teams(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request) -> bool:
        return _staff(request) and perms.can_manage_some_services(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        if not _staff(request):
            return False
        if obj is None:
            return perms.can_manage_some_services(request.user)
        return perms.can_manage_services(request.user, obj.service.team)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def service_create(self, request, data):
        return services.slo_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        changes.pop("service", None)
        services.slo_update(actor=request.user, slo=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.slo_delete(actor=request.user, slo=obj)


# --- Error-budget policies -------------------------------------------------------------------


@admin.register(ErrorBudgetPolicy)
class ErrorBudgetPolicyAdmin(ServiceModelAdmin):
    list_display = ("team", "at_risk_below", "when_exhausted", "freeze", "updated_at")
    list_select_related = ("team",)
    fields = ("team", *services.POLICY_FIELDS)
    service_fields = ("team", *services.POLICY_FIELDS)

    def has_module_permission(self, request) -> bool:
        return _staff(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _staff(request)

    def has_add_permission(self, request) -> bool:
        return _staff(request) and perms.can_manage_budget_policies(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return _staff(request) and perms.can_manage_budget_policies(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return ("team",) if obj is not None else ()

    def service_create(self, request, data):
        return services.budget_policy_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        changes.pop("team", None)
        services.budget_policy_update(actor=request.user, policy=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.budget_policy_delete(actor=request.user, policy=obj)


# --- What the evaluation reads and writes ----------------------------------------------------


@admin.register(Measurement)
class MeasurementAdmin(ReadsVisible, ReadOnlyAdmin):
    """Pushed by monitoring tools through the API (``measurement_push``)."""

    visible_path = "slo__service__"
    list_display = ("slo", "start", "end", "good", "total", "received_at")
    list_filter = (("slo__service", admin.RelatedOnlyFieldListFilter),)
    date_hierarchy = "end"
    list_select_related = ("slo__service",)
    # Counting a table of millions of rows for the paginator would dominate the page.
    show_full_result_count = False


@admin.register(SLOSnapshot)
class SLOSnapshotAdmin(ReadsVisible, ReadOnlyAdmin):
    """One row per evaluation: the series the burn-down charts draw."""

    visible_path = "slo__service__"
    list_display = ("slo", "at", "state", "alert", "sli", "budget_remaining")
    list_filter = ("state", "alert", ("slo__service", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "at"
    list_select_related = ("slo__service",)
    show_full_result_count = False
