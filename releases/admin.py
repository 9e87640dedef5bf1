"""The release managers' workbench in the Django admin.

Every write goes through ``releases.services`` with the signed-in user as the actor, so the admin
obeys exactly the rules the API and the pages obey (permissions, freezes, milestones before the
go-live, dependencies without cycles).

How a service's refusal becomes a form error: the admin saves the object and its inline rows in
one transaction. When a service raises ``ValidationError`` (or ``PermissionDenied``), we raise
``ServiceRefused`` naming the form or inline row it belongs to; the transaction rolls back, so
nothing is stored, and the page is processed once more with that error pinned on its form, which
the admin then shows like any other validation error. Validation therefore runs in one place,
the service, against the same data and in the same order as the real save.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import model_ngettext
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from . import permissions as perms
from . import services
from .models import (
    FreezeWindow,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseState,
    ReleaseTransition,
    ScopeItem,
    Team,
)

admin.site.site_header = "Relcal administration"
admin.site.site_title = "Relcal"

S = ReleaseState
_ERRORS_ATTR = "_relcal_service_errors"
Refusal = ValidationError | PermissionDenied


# --- From service refusals to form errors -----------------------------------------------------


class ServiceRefused(Exception):
    """A service refused a write; ``errors`` maps a form prefix (None: the main form) to it."""

    def __init__(self, key: str | None, error: Refusal) -> None:
        super().__init__(key, error)
        self.errors: dict[str | None, Refusal] = {key: error}

    @property
    def messages(self) -> list[str]:
        return [message for error in self.errors.values() for message in error_messages(error)]


def error_messages(error: Refusal) -> list[str]:
    if isinstance(error, PermissionDenied):
        return [str(error) or "You are not allowed to do this."]
    return list(error.messages)


def _pin_errors(form: forms.BaseForm, error: Refusal) -> None:
    if isinstance(error, PermissionDenied) or not hasattr(error, "error_dict"):
        form.add_error(None, error_messages(error))
        return
    for field, field_errors in error.error_dict.items():
        # Errors about fields the form does not edit (state, release, ...) go on top of it.
        target = field if field in form.fields and field != NON_FIELD_ERRORS else None
        form.add_error(target, field_errors)


class ServiceModelForm(forms.ModelForm):
    """A model form that shows the error a service raised for it on the previous attempt."""

    service_errors: dict[str | None, Refusal] = {}  # set per request, on a per-request class

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        error = self.service_errors.get(self.prefix)
        if error is not None:
            _pin_errors(self, error)
        return cleaned


class ServiceInlineFormSet(forms.BaseInlineFormSet):
    """Shows a refused deletion above the inline rows (a deleted row's own errors are hidden)."""

    service_errors: dict[str | None, Refusal] = {}

    def clean(self) -> None:
        super().clean()
        error = self.service_errors.get(self.prefix)
        if error is not None:
            raise ValidationError(error_messages(error))


def _refusals(request: HttpRequest) -> dict[str | None, Refusal]:
    return getattr(request, _ERRORS_ATTR, {})


class ServiceInline(admin.TabularInline):
    """An inline whose rows are created, changed and deleted by services (see ``save_formset``)."""

    form = ServiceModelForm
    formset = ServiceInlineFormSet
    extra = 0
    service_fields: tuple[str, ...] = ()

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # Both classes are created afresh for each request, so these attributes do not leak.
        formset.service_errors = formset.form.service_errors = _refusals(request)
        formset.service_inline = self
        return formset

    def can_edit(self, request: HttpRequest, release: Release | None) -> bool:
        return release is None or perms.can_edit_release(request.user, release)

    def has_add_permission(self, request, obj=None) -> bool:
        return super().has_add_permission(request, obj) and self.can_edit(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self.can_edit(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and self.can_edit(request, obj)

    def service_create(self, request: HttpRequest, parent: Release, data: dict) -> models.Model:
        raise NotImplementedError

    def service_update(self, request: HttpRequest, obj: models.Model, changes: dict) -> None:
        raise NotImplementedError

    def service_delete(self, request: HttpRequest, obj: models.Model) -> None:
        raise NotImplementedError


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ServiceModelAdmin(admin.ModelAdmin):
    """A model admin whose writes all go through services, refusals shown as form errors."""

    form = ServiceModelForm
    actions = ["delete_selected"]
    service_fields: tuple[str, ...] = ()

    def service_create(self, request: HttpRequest, data: dict) -> models.Model:
        raise NotImplementedError

    def service_update(self, request: HttpRequest, obj: models.Model, changes: dict) -> None:
        raise NotImplementedError

    def service_delete(self, request: HttpRequest, obj: models.Model) -> None:
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.service_errors = _refusals(request)
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # Rolled back: nothing was stored. Go again, with the errors pinned on their forms.
            setattr(request, _ERRORS_ATTR, refused.errors)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The error found no form to sit on (the data changed meanwhile): still store nothing.
            for message in refused.messages:
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        try:
            if change:
                changes = {
                    name: form.cleaned_data[name]
                    for name in form.changed_data
                    if name in self.service_fields
                }
                if changes:
                    self.service_update(request, obj, changes)
            else:
                data = {
                    name: form.cleaned_data[name]
                    for name in self.service_fields
                    if name in form.cleaned_data
                }
                obj.pk = self.service_create(request, data).pk
        except (ValidationError, PermissionDenied) as error:
            raise ServiceRefused(None, error) from error
        # The admin goes on with ``obj`` (inlines, log entry, redirect): make it the stored row.
        obj._state.adding = False
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change) -> None:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        inline: ServiceInline | None = getattr(formset, "service_inline", None)
        if inline is None:
            return  # a read-only inline: its rows cannot change here
        parent = form.instance
        deleted = set(formset.deleted_forms)
        # Deletions first, so that a row can be replaced by a new one in the same save.
        for row in formset.initial_forms:
            if row in deleted and row.instance.pk is not None:
                try:
                    inline.service_delete(request, row.instance)
                except (ValidationError, PermissionDenied) as error:
                    refusal = ValidationError(
                        [f"“{row.instance}” was not deleted: {m}" for m in error_messages(error)]
                    )
                    raise ServiceRefused(formset.prefix, refusal) from error
                formset.deleted_objects.append(row.instance)
        for row in formset.forms:
            if row in deleted or not row.has_changed():
                continue
            try:
                if row in formset.initial_forms:
                    changed = [name for name in row.changed_data if name in inline.service_fields]
                    inline.service_update(
                        request, row.instance, {name: row.cleaned_data[name] for name in changed}
                    )
                    formset.changed_objects.append((row.instance, changed))
                else:
                    data = {
                        name: row.cleaned_data[name]
                        for name in inline.service_fields
                        if name in row.cleaned_data
                    }
                    formset.new_objects.append(inline.service_create(request, parent, data))
            except (ValidationError, PermissionDenied) as error:
                raise ServiceRefused(row.prefix, error) from error

    def delete_model(self, request, obj) -> None:
        try:
            self.service_delete(request, obj)
        except (ValidationError, PermissionDenied) as error:
            raise ServiceRefused(None, error) from error

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as refused:
            for message in refused.messages:
                self.message_user(request, message, messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )

    def delete_queryset(self, request, queryset) -> int:
        """Delete each object through its service; report each refusal. Returns how many went."""
        deleted = 0
        for obj in queryset:
            try:
                with transaction.atomic():
                    self.log_deletions(request, [obj])
                    self.service_delete(request, obj)
            except (ValidationError, PermissionDenied) as error:
                message = " ".join(error_messages(error))
                self.message_user(request, f"{obj}: {message}", messages.ERROR)
            else:
                deleted += 1
        return deleted

    @admin.action(
        permissions=["delete"],
        description=gettext_lazy("Delete selected %(verbose_name_plural)s"),
    )
    def delete_selected(self, request, queryset):
        # Django's own action logs and counts every selected row as deleted; ours asks the
        # service for each one and reports only what it really deleted.
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)
        _objects, _counts, perms_needed, protected = self.get_deleted_objects(queryset, request)
        if protected:
            return django_delete_selected(self, request, queryset)
        if perms_needed:
            raise PermissionDenied
        count = self.delete_queryset(request, queryset)
        if count:
            self.message_user(
                request,
                f"Deleted {count} {model_ngettext(self.opts, count)}.",
                messages.SUCCESS,
            )
        return None


# --- Teams --------------------------------------------------------------------------------


@admin.register(Team)
class TeamAdmin(ServiceModelAdmin):
    list_display = ("name", "slug", "is_private", "contact", "colour", "member_count")
    list_filter = ("is_private", ("members", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "slug", "contact")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)
    fields = ("name", "slug", "is_private", "contact", "color", "members")
    service_fields = ("name", "slug", "is_private", "contact", "color")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=models.Count("members"))

    @admin.display(description="members", ordering="member_total")
    def member_count(self, team: Team) -> int:
        return team.member_total

    @admin.display(description="colour", ordering="color")
    def colour(self, team: Team) -> str:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", team.color):
            return team.color
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;background:{};'
            'vertical-align:middle"></span> {}',
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


class MilestoneInline(ServiceInline):
    model = Milestone
    fields = ("kind", "title", "date", "at", "done")
    service_fields = services.MILESTONE_FIELDS

    def service_create(self, request, parent, data):
        return services.milestone_create(actor=request.user, release=parent, **data)

    def service_update(self, request, obj, changes) -> None:
        services.milestone_update(actor=request.user, milestone=obj, **changes)

    def service_delete(self, request, obj) -> None:
        services.milestone_delete(actor=request.user, milestone=obj)


class ScopeItemInline(ServiceInline):
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


class DependencyInline(ServiceInline):
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


class TransitionReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2_000,
        help_text="Recorded in the release's lifecycle history.",
    )


@cache
def _reason_page():
    # A template string keeps this one small page next to the action that shows it.
    return engines["django"].from_string(
        """{% extends "admin/base_site.html" %}
{% block breadcrumbs %}<div class="breadcrumbs"><a href="{% url 'admin:index' %}">Home</a>
&rsaquo; <a href="{{ changelist_url }}">Releases</a> &rsaquo; {{ title }}</div>{% endblock %}
{% block content %}
<form method="post">{% csrf_token %}
<p>{{ question }}</p>
<ul>{% for release in needing %}<li>{{ release }} ({{ release.get_state_display }})</li>
{% endfor %}</ul>
<fieldset class="module aligned">{{ form.as_div }}</fieldset>
{% for release in releases %}
<input type="hidden" name="_selected_action" value="{{ release.pk }}">{% endfor %}
<input type="hidden" name="action" value="{{ action }}">
<input type="hidden" name="apply" value="yes">
<div class="submit-row"><input type="submit" class="default" value="{{ label }}">
<a href="{{ changelist_url }}" class="button cancel-link">No, take me back</a></div>
</form>
{% endblock %}"""
    )


# Target state -> action label, in the order the action menu lists them.
TRANSITION_ACTIONS = {
    S.PLANNED: "Move to Planned",
    S.SCOPE_FROZEN: "Freeze scope",
    S.TESTING: "Move to Testing",
    S.APPROVED: "Mark as Approved",
    S.DEPLOYING: "Start deploying",
    S.RELEASED: "Mark as Released",
    S.ROLLED_BACK: "Roll back",
    S.CANCELLED: "Cancel",
    S.DRAFT: "Move back to Draft",
}


def _transition_action(to_state: str, label: str):
    def action(modeladmin: ReleaseAdmin, request, queryset):
        return modeladmin.transition_selected(request, queryset, to_state)

    action.__name__ = f"transition_to_{to_state}"
    return admin.action(description=label, permissions=["transition"])(action)


@admin.register(Release)
class ReleaseAdmin(ServiceModelAdmin):
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
    actions = [
        "delete_selected",
        *(_transition_action(state, label) for state, label in TRANSITION_ACTIONS.items()),
    ]
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

    def has_transition_permission(self, request) -> bool:
        return request.user.has_perm("releases.transition_release")

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

    def transition_selected(
        self, request: HttpRequest, queryset, to_state: str
    ) -> HttpResponse | None:
        releases = list(queryset.select_related("team"))
        needing = [
            release
            for release in releases
            if to_state in services.TRANSITIONS[release.state]
            and services.transition_needs_reason(release.state, to_state)
        ]
        form = TransitionReasonForm(request.POST if "apply" in request.POST else None)
        if needing and not form.is_valid():
            return self._ask_reason(request, releases, needing, form, to_state)
        reason = form.cleaned_data["reason"] if form.is_bound and form.is_valid() else ""
        for release in releases:
            try:
                step = services.release_transition(
                    actor=request.user, release=release, to_state=to_state, reason=reason
                )
            except (ValidationError, PermissionDenied) as error:
                message = " ".join(error_messages(error))
                self.message_user(request, f"{release}: {message}", messages.ERROR)
            else:
                moved = f"{S(step.from_state).label} → {S(step.to_state).label}"
                self.message_user(request, f"{release}: {moved}.", messages.SUCCESS)
        return None

    def _ask_reason(self, request, releases, needing, form, to_state) -> TemplateResponse:
        label = TRANSITION_ACTIONS[to_state]
        names = ", ".join(str(release) for release in needing)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{label}: give a reason",
            "question": f"{label} for {names} needs a reason, recorded in the lifecycle history.",
            "releases": releases,
            "needing": needing,
            "form": form,
            "label": label,
            "action": f"transition_to_{to_state}",
            "changelist_url": reverse("admin:releases_release_changelist"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, _reason_page(), context)


@admin.register(ReleaseTransition)
class ReleaseTransitionAdmin(admin.ModelAdmin):
    """The lifecycle history: read-only; transitions happen through the release actions."""

    list_display = ("release", "from_state", "to_state", "actor", "at", "reason")
    list_filter = ("to_state", "from_state", "release__team", "at")
    search_fields = ("release__name", "release__version", "reason", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("release", "actor")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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
    list_display = ("ticket_key", "title", "kind", "release", "owner")
    list_filter = ("kind", "release__team", "release__state")
    search_fields = ("title", "ticket_key", "release__name", "release__version")
    list_select_related = ("release", "owner")
    raw_id_fields = ("owner",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = ("release", "title", "kind", "ticket_key", "ticket_url", "owner")
    service_fields = ("release", *services.SCOPE_FIELDS)

    def can_edit(self, request, obj) -> bool:
        return perms.can_edit_scope(request.user, obj.release)

    def service_create(self, request, data):
        return services.scope_item_create(actor=request.user, **data)

    def service_update(self, request, obj, changes) -> None:
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
