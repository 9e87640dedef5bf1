"""Environments, bookings, maintenance, deployments and the waitlist in the admin.

Every write goes through ``environments.services`` with the signed-in user as the actor, using
the machinery of ``relcal.admin.service_admin`` (a refusal becomes a form error and nothing is
stored). Who may change what follows ``environments.permissions``, not Django's model
permissions: a team member may book for their team and an environment's owners may set its rules
and maintenance.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from relcal.admin.service_admin import (
    ReadOnlyInline,
    ServiceInline,
    ServiceModelAdmin,
    error_messages,
)
from relcal.errors import Conflict

from . import permissions as perms
from . import services
from .models import (
    Booking,
    Deployment,
    DeploymentOutcome,
    Environment,
    MaintenanceWindow,
    WaitlistEntry,
)


def _books(request: HttpRequest) -> bool:
    """May book for some team: a team member or a release manager."""
    user = request.user
    return perms.is_release_manager(user) or (user.is_authenticated and user.teams.exists())


def _owns_some(request: HttpRequest) -> bool:
    user = request.user
    if perms.is_release_manager(user):
        return True
    return user.is_authenticated and Environment.objects.filter(owner_team__members=user).exists()


def _as_form_error(error: Conflict) -> ValidationError:
    # The admin shows a conflict (who holds it, the next free slot) on top of the form.
    return ValidationError(error.message)


# --- Environments ----------------------------------------------------------------------------


class MaintenanceInline(ServiceInline):
    model = MaintenanceWindow
    fields = ("start", "end", "reason")
    service_fields = services.MAINTENANCE_FIELDS

    def can_edit(self, request, environment: Environment | None) -> bool:
        if environment is None:
            return perms.can_create_environment(request.user)
        return perms.can_manage_environment(request.user, environment)

    # Owners are ordinary team members: what counts is ``can_edit``, not model permissions.
    def has_add_permission(self, request, obj=None) -> bool:
        return self.can_edit(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.can_edit(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.can_edit(request, obj)

    def service_create(self, request, parent, data):
        return services.maintenance_window_create(actor=request.user, environment=parent, **data)

    def service_update(self, request, obj, changes) -> None:
        services.maintenance_window_update(actor=request.user, window=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.maintenance_window_delete(actor=request.user, window=obj)


class DeploymentInline(ReadOnlyInline):
    model = Deployment
    fields = ("deployed_at", "version", "release", "outcome", "deployed_by", "note")
    readonly_fields = fields
    verbose_name_plural = "deployment history"
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("release", "deployed_by")


@admin.register(Environment)
class EnvironmentAdmin(ServiceModelAdmin):
    list_display = ("name", "slug", "kind", "owner_team", "bookable", "deployed", "url")
    list_filter = ("kind", "bookable", "owner_team")
    search_fields = ("name", "slug", "description")
    list_select_related = ("owner_team", "current_deployment", "current_deployment__release")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("owner_team",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("name", "slug", "kind", "owner_team", "url", "description")}),
        (
            "Booking rules",
            {
                "fields": (
                    "bookable",
                    "max_booking_minutes",
                    "min_notice_minutes",
                    "max_active_bookings_per_team",
                )
            },
        ),
        ("Deployed now", {"fields": ("deployed",)}),
    )
    inlines = (MaintenanceInline, DeploymentInline)
    service_fields = services.ENVIRONMENT_FIELDS

    @admin.display(description="deployed now")
    def deployed(self, environment: Environment) -> str:
        deployment = environment.current_deployment
        if deployment is None:
            return "—"
        release = f" ({deployment.release})" if deployment.release_id else ""
        return f"{deployment.version}{release}"

    def get_readonly_fields(self, request, obj=None):
        if perms.can_create_environment(request.user):
            return ("deployed",)
        # Owners run their environment; what it is and whose stays with release managers.
        return ("deployed", "name", "slug", "kind", "owner_team")

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if perms.can_create_environment(request.user) else {}

    def has_add_permission(self, request) -> bool:
        return perms.can_create_environment(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is None:
            return _owns_some(request)
        return perms.can_manage_environment(request.user, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return perms.can_create_environment(request.user)

    def service_create(self, request, data):
        return services.environment_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        services.environment_update(actor=request.user, environment=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.environment_delete(actor=request.user, environment=obj)


# --- Bookings --------------------------------------------------------------------------------

BOOKING_FIELDS = ("environment", "team", "release", "purpose", "start", "end")
BOOKING_HISTORY = ("state", "booked_by", "created_at", "updated_at", "ended_at")


@admin.register(Booking)
class BookingAdmin(ServiceModelAdmin):
    list_display = ("environment", "team", "purpose", "start", "end", "state", "booked_by")
    list_filter = ("environment", "team", "state")
    search_fields = ("purpose", "team__name", "environment__name", "booked_by__username")
    date_hierarchy = "start"
    list_select_related = ("environment", "team", "booked_by")
    autocomplete_fields = ("team", "release")
    fields = (*BOOKING_FIELDS, *BOOKING_HISTORY)
    service_fields = BOOKING_FIELDS
    actions = ["release_selected", "cancel_selected"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return BOOKING_HISTORY
        # Once made, only the end of a holding booking moves (extend or shorten).
        editable = {"end"} if obj.is_holding else set()
        return tuple(name for name in self.fields if name not in editable)

    def has_add_permission(self, request) -> bool:
        return _books(request)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is None:
            return _books(request)
        return obj.is_holding and perms.can_change_booking(request.user, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # bookings are history: cancel or release them instead

    def has_release_permission(self, request) -> bool:
        return _books(request)

    def service_create(self, request, data):
        try:
            return services.booking_create(actor=request.user, **data)
        except Conflict as error:
            raise _as_form_error(error) from error

    def service_update(self, request, obj, changes) -> None:
        try:
            services.booking_extend(actor=request.user, booking=obj, end=changes["end"])
        except Conflict as error:
            raise _as_form_error(error) from error

    def _each(self, request, queryset, service, done: str) -> None:
        for booking in queryset.select_related("environment", "team"):
            try:
                booking = service(actor=request.user, booking=booking)
            except (ValidationError, PermissionDenied) as error:
                message = " ".join(error_messages(error))
                self.message_user(request, f"{booking}: {message}", messages.ERROR)
            except Conflict as error:  # ended by someone else meanwhile
                self.message_user(request, f"{booking}: {error.message}", messages.ERROR)
            else:
                state = booking.get_state_display().lower()
                self.message_user(request, f"{booking}: {done} ({state}).", messages.SUCCESS)

    @admin.action(
        description="Release early (ends now; not started yet: cancel)", permissions=["release"]
    )
    def release_selected(self, request, queryset) -> None:
        self._each(request, queryset, services.booking_release, "released")

    @admin.action(description="Cancel selected bookings", permissions=["release"])
    def cancel_selected(self, request, queryset) -> None:
        self._each(request, queryset, services.booking_cancel, "cancelled")


# --- Maintenance, deployments, waitlist ------------------------------------------------------


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(ServiceModelAdmin):
    list_display = ("environment", "start", "end", "reason", "created_by")
    list_filter = ("environment",)
    search_fields = ("reason", "environment__name")
    date_hierarchy = "start"
    list_select_related = ("environment", "created_by")
    fields = ("environment", "start", "end", "reason", "created_by")
    service_fields = ("environment", *services.MAINTENANCE_FIELDS)

    def get_readonly_fields(self, request, obj=None):
        return ("environment", "created_by") if obj is not None else ("created_by",)

    def has_add_permission(self, request) -> bool:
        return _owns_some(request)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is None:
            return _owns_some(request)
        return perms.can_manage_environment(request.user, obj.environment)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def service_create(self, request, data):
        return services.maintenance_window_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        services.maintenance_window_update(actor=request.user, window=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.maintenance_window_delete(actor=request.user, window=obj)


DEPLOYMENT_FIELDS = (
    "environment",
    "release",
    "candidate",
    "version",
    "strategy",
    "planned_steps",
    "deployed_at",
    "finished_at",
    "outcome",
    "rollback_of",
    "move_release",
    "note",
)
DEPLOYMENT_HISTORY = ("deployed_by", "steps", "client_id", "updated_at")


@admin.register(Deployment)
class DeploymentAdmin(ServiceModelAdmin):
    """What pipelines reported, newest first: history, written by the deployment services only.

    Release managers record a deployment by hand here (one that is over: started and finished
    in the past, succeeded or failed) through ``deployment_record``, with everything it moves
    (current deployment, release, rollback rehearsal). Nobody changes or deletes one.
    """

    list_display = (
        "environment",
        "version",
        "release",
        "strategy",
        "outcome",
        "deployed_at",
        "finished_at",
        "deployed_by",
    )
    list_filter = ("environment", "outcome", "strategy", "release__team")
    search_fields = ("version", "note", "client_id", "release__name", "environment__name")
    date_hierarchy = "deployed_at"
    list_select_related = ("environment", "release", "deployed_by")
    autocomplete_fields = ("release",)
    raw_id_fields = ("candidate", "rollback_of")
    fields = (*DEPLOYMENT_FIELDS, *DEPLOYMENT_HISTORY)
    service_fields = DEPLOYMENT_FIELDS
    actions = []

    def get_readonly_fields(self, request, obj=None):
        return DEPLOYMENT_HISTORY if obj is None else self.fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            # Empty: the build's version, else the release's (as the service decides).
            form.base_fields["version"].required = False
            form.base_fields["version"].help_text = "Leave empty for the release's version."
            form.base_fields["outcome"].choices = [
                (DeploymentOutcome.SUCCEEDED, "Succeeded"),
                (DeploymentOutcome.FAILED, "Failed"),
            ]
        return form

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("finished_at", timezone.now())
        return initial

    def has_add_permission(self, request) -> bool:
        return perms.is_release_manager(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def service_create(self, request, data):
        data = {**data, "planned_steps": data.get("planned_steps") or []}
        try:
            return services.deployment_record(actor=request.user, **data)
        except Conflict as error:
            raise _as_form_error(error) from error


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ServiceModelAdmin):
    list_display = ("environment", "team", "start", "end", "purpose", "state", "created_at")
    list_filter = ("environment", "team", "state")
    search_fields = ("purpose", "team__name", "environment__name")
    date_hierarchy = "start"
    list_select_related = ("environment", "team")
    autocomplete_fields = ("team",)
    fields = (
        "environment",
        "team",
        "start",
        "end",
        "purpose",
        "state",
        "requested_by",
        "created_at",
        "granted_booking",
        "granted_at",
    )
    service_fields = ("environment", "team", "start", "end", "purpose")
    actions = ["withdraw_selected"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("state", "requested_by", "created_at", "granted_booking", "granted_at")
        return self.fields

    def has_add_permission(self, request) -> bool:
        return _books(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # withdraw with the action and queue again

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_withdraw_permission(self, request) -> bool:
        return _books(request)

    def service_create(self, request, data):
        return services.waitlist_join(actor=request.user, **data)

    @admin.action(description="Withdraw selected entries", permissions=["withdraw"])
    def withdraw_selected(self, request, queryset) -> None:
        for entry in queryset.select_related("team", "environment"):
            try:
                services.waitlist_withdraw(actor=request.user, entry=entry)
            except (ValidationError, PermissionDenied) as error:
                message = " ".join(error_messages(error))
                self.message_user(request, f"{entry}: {message}", messages.ERROR)
            except Conflict as error:  # granted or withdrawn meanwhile
                self.message_user(request, f"{entry}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{entry}: withdrawn.", messages.SUCCESS)
