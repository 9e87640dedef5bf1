"""The release managers' workbench in the Django admin.

Every write goes through ``releases.services`` with the signed-in user as the actor, so the admin
obeys exactly the rules the API and the pages obey (permissions, freezes, milestones before the
go-live, dependencies without cycles); ``relcal.admin.service_admin`` has the machinery.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html

from relcal.admin.service_admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceInline,
    ServiceModelAdmin,
    ServiceModelForm,
)

from . import permissions as perms
from . import services
from .admin_actions import TRANSITION_ACTIONS_LIST, TransitionActions
from .models import (
    FreezeWindow,
    GatePolicy,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseState,
    ReleaseTransition,
    ScopeItem,
    Team,
)

S = ReleaseState


# --- Teams --------------------------------------------------------------------------------


@admin.register(Team)
class TeamAdmin(ServiceModelAdmin):
    list_display = ("name", "slug", "is_private", "contact", "colour", "member_count")
    list_filter = ("is_private", ("members", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "slug", "contact")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)
    fields = ("name", "slug", "is_private", "contact", "color", "time_zone", "members")
    service_fields = ("name", "slug", "is_private", "contact", "color", "time_zone")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=models.Count("members"))

    @admin.display(description="members", ordering="member_total")
    def member_count(self, team: Team) -> int:
        return team.member_total

    @admin.display(description="colour", ordering="color")
    def colour(self, team: Team) -> str:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", team.color):
            return team.color
        # An SVG fill, not a style attribute: the Content-Security-Policy refuses those.
        return format_html(
            '<svg width="14" height="14" viewBox="0 0 1 1" aria-hidden="true">'
            '<rect width="1" height="1" fill="{}"/></svg> {}',
            team.color,
            team.color,
        )

    def has_add_permission(self, request) -> bool:
        return perms.can_manage_teams(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return perms.can_manage_teams(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return perms.can_manage_teams(request.user)

    def service_create(self, request, data):
        return services.team_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        services.team_update(actor=request.user, team=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.team_delete(actor=request.user, team=obj)

    def save_related(self, request, form, formsets, change) -> None:
        if "members" in form.cleaned_data and (not change or "members" in form.changed_data):
            services.team_set_members(
                actor=request.user, team=form.instance, members=form.cleaned_data["members"]
            )


# --- Releases and their inline rows --------------------------------------------------------


class ReleaseInline(ServiceInline):
    """Rows of a release, changed by whoever may edit the release."""

    def can_edit(self, request: HttpRequest, release: Release | None) -> bool:
        return release is None or perms.can_edit_release(request.user, release)


class MilestoneInline(ReleaseInline):
    model = Milestone
    fields = ("kind", "title", "date", "at", "done")
    service_fields = services.MILESTONE_FIELDS

    def service_create(self, request, parent, data):
        return services.milestone_create(actor=request.user, release=parent, **data)

    def service_update(self, request, obj, changes) -> None:
        services.milestone_update(actor=request.user, milestone=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.milestone_delete(actor=request.user, milestone=obj)


class ScopeItemInline(ReleaseInline):
    model = ScopeItem
    fields = ("ticket_key", "title", "kind", "ticket_url", "owner")
    raw_id_fields = ("owner",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    service_fields = services.SCOPE_FIELDS

    def can_edit(self, request, release) -> bool:
        # A frozen scope is shown read-only rather than offered for edits that would be refused.
        if release is None:
            return True
        return perms.can_edit_scope(request.user, release) and not release.scope_locked

    def service_create(self, request, parent, data):
        return services.scope_item_create(actor=request.user, release=parent, **data)

    def service_update(self, request, obj, changes) -> None:
        services.scope_item_update(actor=request.user, item=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.scope_item_delete(actor=request.user, item=obj)


class DependencyInline(ReleaseInline):
    """What this release needs. Rows can be added and removed, not changed (no such service)."""

    model = ReleaseDependency
    fk_name = "release"
    fields = ("depends_on", "kind", "note")
    autocomplete_fields = ("depends_on",)
    verbose_name = "dependency"
    verbose_name_plural = "depends on"
    service_fields = ("depends_on", "kind", "note")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("depends_on")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def service_create(self, request, parent, data):
        return services.dependency_create(actor=request.user, release=parent, **data)

    def service_delete(self, request, obj) -> None:
        services.dependency_delete(actor=request.user, dependency=obj)


class DependentInline(ReadOnlyInline):
    """The other side: releases that depend on this one (edited on their own page)."""

    model = ReleaseDependency
    fk_name = "depends_on"
    fields = ("release", "kind", "note")
    readonly_fields = fields
    verbose_name = "dependent release"
    verbose_name_plural = "releases depending on this one"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("release")


class TransitionInline(ReadOnlyInline):
    model = ReleaseTransition
    fields = ("at", "from_state", "to_state", "actor", "reason")
    readonly_fields = fields
    verbose_name_plural = "lifecycle history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Release)
class ReleaseAdmin(TransitionActions, ServiceModelAdmin):
    list_display = ("name", "version", "team", "state", "go_live", "manager", "strategy")
    list_filter = ("state", "team", "strategy", "go_live")
    search_fields = ("name", "version", "description", "team__name")
    date_hierarchy = "go_live"
    list_select_related = ("team", "manager")
    autocomplete_fields = ("team",)
    raw_id_fields = ("manager",)
    readonly_fields = ("state", "allowed_next_states", "watchers", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "version", "team", "manager", "description")}),
        ("Schedule", {"fields": ("go_live", "window_end", "freeze_override_reason")}),
        ("Deployment", {"fields": ("strategy", "rollback_plan", "rollback_rehearsed_on")}),
        (
            "Lifecycle",
            {
                "fields": ("state", "allowed_next_states", "watchers", "created_at", "updated_at"),
                "description": "Move a release with the actions on the release list.",
            },
        ),
    )
    inlines = (
        MilestoneInline,
        ScopeItemInline,
        DependencyInline,
        DependentInline,
        TransitionInline,
    )
    actions = ["delete_selected", *TRANSITION_ACTIONS_LIST]
    service_fields = services.RELEASE_FIELDS

    @admin.display(description="allowed next states")
    def allowed_next_states(self, release: Release) -> str:
        states = services.TRANSITIONS[release.state]
        return ", ".join(S(state).label for state in states) or "none (final)"

    def has_add_permission(self, request) -> bool:
        return perms.can_plan_release(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is None:
            return super().has_change_permission(request)
        return perms.can_edit_release(request.user, obj)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # A release's lifecycle history goes with it; nobody deletes history rows on their own.
        perms_needed.discard(ReleaseTransition._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def service_create(self, request, data):
        if data.get("manager") is None:
            data.pop("manager", None)  # the service makes the actor the release manager
        return services.release_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        services.release_update(actor=request.user, release=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.release_delete(actor=request.user, release=obj)


@admin.register(ReleaseTransition)
class ReleaseTransitionAdmin(ReadOnlyAdmin):
    """The lifecycle history: read-only; transitions happen through the release actions."""

    list_display = ("release", "from_state", "to_state", "actor", "at", "reason")
    list_filter = ("to_state", "from_state", "release__team", "at")
    search_fields = ("release__name", "release__version", "reason", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("release", "actor")


# --- The rows hanging off a release, each on its own too -------------------------------------


class ReleaseChildAdmin(ServiceModelAdmin):
    """Milestones, scope items and dependencies: their release is fixed once they exist."""

    autocomplete_fields = ("release",)
    list_select_related = ("release",)

    def get_readonly_fields(self, request, obj=None):
        return ("release",) if obj is not None else ()

    def can_edit(self, request: HttpRequest, obj) -> bool:
        return perms.can_edit_release(request.user, obj.release)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is None:
            return super().has_change_permission(request)
        return self.can_edit(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is None:
            return super().has_delete_permission(request)
        return self.can_edit(request, obj)


@admin.register(Milestone)
class MilestoneAdmin(ReleaseChildAdmin):
    list_display = ("__str__", "kind", "release", "date", "at", "done")
    list_filter = ("kind", "done", "release__team")
    search_fields = ("title", "release__name", "release__version")
    fields = ("release", "kind", "title", "date", "at", "done")
    service_fields = ("release", *services.MILESTONE_FIELDS)

    def service_create(self, request, data):
        return services.milestone_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        services.milestone_update(actor=request.user, milestone=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.milestone_delete(actor=request.user, milestone=obj)


@admin.register(ScopeItem)
class ScopeItemAdmin(ReleaseChildAdmin):
    """Scope items; their progress (done, blocker) stays editable once the scope is frozen."""

    list_display = ("ticket_key", "title", "kind", "release", "owner", "done", "blocker")
    list_filter = ("kind", "done", "blocker", "release__team", "release__state")
    search_fields = ("title", "ticket_key", "release__name", "release__version")
    list_select_related = ("release", "owner")
    raw_id_fields = ("owner",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = ("release", "title", "kind", "ticket_key", "ticket_url", "owner", "done", "blocker")
    service_fields = ("release", *services.SCOPE_FIELDS, *services.SCOPE_PROGRESS_FIELDS)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.release.scope_locked:
            # What approvers sign is frozen; only the progress is still offered for edits.
            return ("release", *services.SCOPE_FIELDS)
        return super().get_readonly_fields(request, obj)

    def can_edit(self, request, obj) -> bool:
        return perms.can_edit_scope(request.user, obj.release)

    def service_create(self, request, data):
        return services.scope_item_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        progress = {
            name: changes.pop(name) for name in services.SCOPE_PROGRESS_FIELDS if name in changes
        }
        # Progress first: it reads the stored row, while scope_item_update saves ``obj``, which
        # already carries the form's values (progress included, then unchanged).
        if progress:
            services.scope_item_update_progress(actor=request.user, item=obj, **progress)
        if changes:
            services.scope_item_update(actor=request.user, item=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.scope_item_delete(actor=request.user, item=obj)


@admin.register(ReleaseDependency)
class ReleaseDependencyAdmin(ReleaseChildAdmin):
    list_display = ("release", "kind", "depends_on", "note", "created_at")
    list_filter = ("kind", "release__team")
    search_fields = ("release__name", "depends_on__name", "note")
    list_select_related = ("release", "depends_on")
    autocomplete_fields = ("release", "depends_on")
    fields = ("release", "kind", "depends_on", "note")
    service_fields = ("release", "depends_on", "kind", "note")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # no update service: delete the dependency and add the one you mean

    def service_create(self, request, data):
        return services.dependency_create(actor=request.user, **data)

    def service_delete(self, request, obj) -> None:
        services.dependency_delete(actor=request.user, dependency=obj)


@admin.register(FreezeWindow)
class FreezeWindowAdmin(ServiceModelAdmin):
    list_display = ("name", "start", "end", "scope")
    list_filter = ("team", "start")
    search_fields = ("name", "reason", "team__name")
    date_hierarchy = "start"
    list_select_related = ("team",)
    autocomplete_fields = ("team",)
    fields = ("name", "start", "end", "team", "reason")
    service_fields = services.FREEZE_FIELDS

    @admin.display(description="applies to", ordering="team__name")
    def scope(self, freeze: FreezeWindow) -> str:
        return freeze.scope_label

    def has_add_permission(self, request) -> bool:
        return perms.can_manage_freezes(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return perms.can_manage_freezes(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return perms.can_manage_freezes(request.user)

    def service_create(self, request, data):
        return services.freeze_window_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        services.freeze_window_update(actor=request.user, freeze=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.freeze_window_delete(actor=request.user, freeze=obj)


# --- Gate policies -------------------------------------------------------------------------


class CheckNamesField(forms.CharField):
    """A list of check names typed one a line (or separated by commas); the service judges
    each name, so a wrong one is named on this field."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 40})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value)
        return [name.strip() for name in re.split(r"[,\n]", text) if name.strip()]


class GatePolicyForm(ServiceModelForm):
    required_checks = CheckNamesField(
        required=False,
        strip=False,
        help_text="Check names the current candidate must pass, one a line, e.g. unit-tests.",
    )

    class Meta:
        model = GatePolicy
        fields = "__all__"


@admin.register(GatePolicy)
class GatePolicyAdmin(ServiceModelAdmin):
    form = GatePolicyForm
    list_display = (
        "name",
        "team",
        "is_default",
        "checks",
        "booking",
        "rollback_rehearsal_days",
    )
    list_filter = ("is_default", "require_booking")
    search_fields = ("name", "team__name", "description")
    list_select_related = ("team",)
    autocomplete_fields = ("team",)
    fields = services.GATE_POLICY_FIELDS
    service_fields = services.GATE_POLICY_FIELDS

    @admin.display(description="required checks")
    def checks(self, policy: GatePolicy) -> str:
        return ", ".join(policy.required_checks or []) or "none"

    @admin.display(description="booking", ordering="require_booking")
    def booking(self, policy: GatePolicy) -> str:
        return policy.booking_environment if policy.require_booking else "not required"

    def service_create(self, request, data):
        return services.gate_policy_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
        services.gate_policy_update(actor=request.user, policy=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.gate_policy_delete(actor=request.user, policy=obj)
