"""Release planning pages: thin over ``selectors`` for reads and ``services`` for writes.

Every write view checks permission before anything else, so a user without it gets 403 on GET
and POST alike; then it calls one service and turns the service's ``ValidationError`` into form
errors (status 400). Services are atomic, so a refused write stores nothing. Forms that live on
the release page post to their own URL and, when refused, show that page again with the errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from . import permissions as perms
from . import selectors, services
from .forms import (
    DependencyForm,
    FreezeWindowForm,
    MilestoneForm,
    ReleaseForm,
    ReleaseListFilter,
    ScopeItemForm,
    TransitionForm,
    add_service_errors,
)
from .models import (
    DependencyKind,
    FreezeWindow,
    Milestone,
    MilestoneKind,
    Release,
    ReleaseDependency,
    ReleaseState,
    ScopeItem,
)
from .panels import render_release_panels

PAGE_SIZE = 50
GET_OR_POST = require_http_methods(["GET", "POST"])


def _can_delete(user, release: Release) -> bool:
    # Only offer what services.release_delete would accept.
    return perms.can_delete_release(user, release) and release.state in (
        ReleaseState.DRAFT,
        ReleaseState.CANCELLED,
    )


def _status(form) -> int:
    return 400 if form.is_bound and form.errors else 200


def _release(pk: int) -> Release:
    return get_object_or_404(Release.objects.select_related("team", "manager"), pk=pk)


def _back_to(release: Release, anchor: str) -> HttpResponse:
    return redirect(f"{release.get_absolute_url()}#{anchor}")


# --- Reading ------------------------------------------------------------------------------


@login_required
@require_GET
def release_list(request: HttpRequest) -> HttpResponse:
    filterset = ReleaseListFilter(
        request.GET or None, queryset=selectors.visible_releases(request.user)
    )
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "releases/release_list.html",
        {
            "filter_form": filterset.form,
            "filter_fields": [filterset.form[name] for name in ReleaseListFilter.page_fields],
            "filtered": bool(request.GET.keys() - {"page"}),
            "page": page,
            "can_plan": perms.can_plan_release(request.user),
        },
    )


@dataclass
class TimelineEntry:
    label: str
    when: date | datetime
    all_day: bool
    done: bool
    kind: str
    go_live: bool = False
    milestone: Milestone | None = None

    @property
    def overdue(self) -> bool:
        if self.done or self.milestone is None:
            return False
        if self.all_day:
            return self.when < timezone.localdate()
        return self.when < timezone.now()


def _timeline(release: Release) -> list[TimelineEntry]:
    """Milestones in time order, closed by the go-live: a go-live milestone when the plan has
    one, else the release's own go-live."""
    # Sorted here rather than in SQL: databases disagree on where NULL dates sort, and an
    # all-day milestone belongs at the start of its day in the viewer's zone.
    milestones = sorted(
        release.milestones.all(), key=lambda m: (m.kind == MilestoneKind.GO_LIVE, m.sort_key)
    )
    entries = [
        TimelineEntry(
            label=m.label,
            when=m.date if m.all_day else m.at,
            all_day=m.all_day,
            done=m.done,
            kind=m.get_kind_display(),
            go_live=m.kind == MilestoneKind.GO_LIVE,
            milestone=m,
        )
        for m in milestones
    ]
    if not any(entry.go_live for entry in entries):
        entries.append(
            TimelineEntry(
                label="Go-live",
                when=release.go_live,
                all_day=False,
                done=release.state == ReleaseState.RELEASED,
                kind="deployment window opens",
                go_live=True,
            )
        )
    return entries


@dataclass
class Link:
    other: Release
    dependency: ReleaseDependency
    can_delete: bool


def _links(release: Release, user) -> dict[str, list[Link]]:
    """Dependencies seen from this release: what it needs, what ships with it, who needs it."""
    groups: dict[str, list[Link]] = {
        "Needs shipped first": [],
        "Ships together with": [],
        "Needed by": [],
    }
    for dep in release.dependencies.all():
        title = "Needs shipped first" if dep.kind == DependencyKind.NEEDS else "Ships together with"
        groups[title].append(Link(dep.depends_on, dep, perms.can_edit_release(user, release)))
    for dep in release.dependents.all():
        title = "Needed by" if dep.kind == DependencyKind.NEEDS else "Ships together with"
        groups[title].append(Link(dep.release, dep, perms.can_edit_release(user, dep.release)))
    return groups


def _detail_response(request: HttpRequest, pk: int, status: int = 200, **forms) -> HttpResponse:
    # A release the user may not see is "not found", not "forbidden": even its existence is private.
    release = get_object_or_404(selectors.release_detail(request.user), pk=pk)
    user = request.user
    can_edit = perms.can_edit_release(user, release)
    can_edit_scope = perms.can_edit_scope(user, release)
    can_transition = perms.can_transition_release(user, release)
    links = _links(release, user)
    context: dict[str, Any] = {
        "release": release,
        "window_end": release.window[1],
        "timeline": _timeline(release),
        "scope_items": release.scope_items.all(),
        "links": links,
        "has_links": any(links.values()),
        "history": release.transitions.all(),
        "can_edit": can_edit,
        "can_delete": _can_delete(user, release),
        "can_edit_scope": can_edit_scope and not release.scope_locked,
        "scope_locked_for_editor": can_edit_scope and release.scope_locked,
        "can_transition": can_transition and bool(services.allowed_transitions(release)),
    }
    if can_edit:
        context["milestone_form"] = MilestoneForm()
        context["dependency_form"] = DependencyForm(release=release)
    if context["can_edit_scope"]:
        context["scope_form"] = ScopeItemForm()
    if context["can_transition"]:
        context["transition_form"] = TransitionForm(release=release)
    # A refused form replaces the fresh one, and is shown even where a fresh one would not be
    # offered (e.g. the scope froze meanwhile), so that its error reaches the user.
    context.update(forms)
    # What other apps show here (sign-offs, …), registered by them: see releases/panels.py.
    context["panels"] = render_release_panels(request, release)
    return render(request, "releases/release_detail.html", context, status=status)


@login_required
@require_GET
def release_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_response(request, pk)


# --- Creating, editing, deleting releases ---------------------------------------------------


@login_required
@GET_OR_POST
def release_create(request: HttpRequest) -> HttpResponse:
    perms.require(perms.can_plan_release(request.user), "Only release managers can plan releases.")
    form = ReleaseForm(
        request.POST if request.method == "POST" else None,
        initial={"manager": request.user},
        can_override_freeze=perms.can_override_freeze(request.user),
    )
    if form.is_bound and form.is_valid():
        try:
            release = services.release_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Release “{release.name}” created as a draft.")
            return redirect(release)
    return render(
        request, "releases/release_form.html", {"form": form, "release": None}, status=_status(form)
    )


@login_required
@GET_OR_POST
def release_edit(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(pk)
    perms.require(
        perms.can_edit_release(request.user, release),
        "Only release managers and this release's manager can change it.",
    )
    form = ReleaseForm(
        request.POST if request.method == "POST" else None,
        initial=ReleaseForm.initial_for(release),
        can_override_freeze=perms.can_override_freeze(request.user),
    )
    if form.is_bound and form.is_valid():
        try:
            services.release_update(actor=request.user, release=release, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Release “{form.cleaned_data['name']}” saved.")
            return redirect(release)
    return render(
        request,
        "releases/release_form.html",
        {"form": form, "release": release},
        status=_status(form),
    )


@login_required
@GET_OR_POST
def release_delete(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(pk)
    perms.require(
        request.user.has_perm("releases.delete_release"),
        "Only release managers can delete releases.",
    )
    if request.method == "POST":
        try:
            services.release_delete(actor=request.user, release=release)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(release)
        messages.success(request, f"Release “{release.name}” deleted.")
        return redirect("releases:list")
    return render(
        request,
        "releases/release_confirm_delete.html",
        {"release": release, "deletable": _can_delete(request.user, release)},
    )


@login_required
@GET_OR_POST
def release_transition(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(pk)
    perms.require(
        perms.can_transition_release(request.user, release),
        "Only release managers and this release's manager can move it through its lifecycle.",
    )
    if request.method == "GET":
        return _back_to(release, "lifecycle")
    form = TransitionForm(request.POST, release=release)
    if form.is_valid():
        try:
            step = services.release_transition(
                actor=request.user, release=release, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{release.name} is now {step.get_to_state_display()}.")
            return _back_to(release, "lifecycle")
    return _detail_response(request, pk, status=400, transition_form=form)


# --- Milestones, scope, dependencies (forms on the release page) ---------------------------


def _planner_release(request: HttpRequest, pk: int) -> Release:
    release = _release(pk)
    perms.require(
        perms.can_edit_release(request.user, release),
        "Only release managers and this release's manager can change its plan.",
    )
    return release


def _scope_release(request: HttpRequest, pk: int) -> Release:
    release = _release(pk)
    perms.require(
        perms.can_edit_scope(request.user, release),
        "Only release managers and the owning team can change a release's scope.",
    )
    return release


def _submit(request, release: Release, form, form_key: str, anchor: str, action) -> HttpResponse:
    """Run ``action(cleaned_data)`` (a service call returning a success message) for a valid
    form; when the form or the service refuses, show the release page with the errors."""
    if form.is_valid():
        try:
            message = action(form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, message)
            return _back_to(release, anchor)
    return _detail_response(request, release.pk, status=400, **{form_key: form})


def _act(request, release: Release, anchor: str, action, message: str) -> HttpResponse:
    """Run a one-button action (delete, tick); a refusal comes back as an error message."""
    try:
        action()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, message)
    return _back_to(release, anchor)


@login_required
@GET_OR_POST
def milestone_add(request: HttpRequest, pk: int) -> HttpResponse:
    release = _planner_release(request, pk)
    if request.method == "GET":
        return _back_to(release, "milestones")

    def create(data):
        milestone = services.milestone_create(actor=request.user, release=release, **data)
        return f"Milestone “{milestone.label}” added."

    return _submit(
        request, release, MilestoneForm(request.POST), "milestone_form", "milestones", create
    )


@login_required
@GET_OR_POST
def milestone_toggle(request: HttpRequest, pk: int, milestone_pk: int) -> HttpResponse:
    release = _planner_release(request, pk)
    milestone = get_object_or_404(Milestone, pk=milestone_pk, release=release)
    if request.method == "GET":
        return _back_to(release, "milestones")
    done = not milestone.done
    return _act(
        request,
        release,
        "milestones",
        lambda: services.milestone_update(actor=request.user, milestone=milestone, done=done),
        f"Milestone “{milestone.label}” marked {'done' if done else 'not done'}.",
    )


@login_required
@GET_OR_POST
def milestone_delete(request: HttpRequest, pk: int, milestone_pk: int) -> HttpResponse:
    release = _planner_release(request, pk)
    milestone = get_object_or_404(Milestone, pk=milestone_pk, release=release)
    if request.method == "GET":
        return _back_to(release, "milestones")
    return _act(
        request,
        release,
        "milestones",
        lambda: services.milestone_delete(actor=request.user, milestone=milestone),
        f"Milestone “{milestone.label}” deleted.",
    )


@login_required
@GET_OR_POST
def scope_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    release = _scope_release(request, pk)
    if request.method == "GET":
        return _back_to(release, "scope")

    def create(data):
        item = services.scope_item_create(actor=request.user, release=release, **data)
        return f"Scope item “{item.title}” added."

    return _submit(request, release, ScopeItemForm(request.POST), "scope_form", "scope", create)


@login_required
@GET_OR_POST
def scope_item_delete(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    release = _scope_release(request, pk)
    item = get_object_or_404(ScopeItem, pk=item_pk, release=release)
    if request.method == "GET":
        return _back_to(release, "scope")
    return _act(
        request,
        release,
        "scope",
        lambda: services.scope_item_delete(actor=request.user, item=item),
        f"Scope item “{item.title}” removed.",
    )


@login_required
@GET_OR_POST
def dependency_add(request: HttpRequest, pk: int) -> HttpResponse:
    release = _planner_release(request, pk)
    if request.method == "GET":
        return _back_to(release, "dependencies")

    def create(data):
        dep = services.dependency_create(actor=request.user, release=release, **data)
        return f"{release.name} {dep.get_kind_display()} {dep.depends_on.name}."

    form = DependencyForm(request.POST, release=release)
    return _submit(request, release, form, "dependency_form", "dependencies", create)


@login_required
@GET_OR_POST
def dependency_delete(request: HttpRequest, pk: int, dependency_pk: int) -> HttpResponse:
    release = _release(pk)
    # The link may be seen from either end; the release that holds it decides who may cut it.
    dependency = get_object_or_404(
        ReleaseDependency.objects.select_related("release", "depends_on").filter(
            Q(release=release) | Q(depends_on=release)
        ),
        pk=dependency_pk,
    )
    perms.require(
        perms.can_edit_release(request.user, dependency.release),
        "Only release managers and this release's manager can change its dependencies.",
    )
    if request.method == "GET":
        return _back_to(release, "dependencies")
    return _act(
        request,
        release,
        "dependencies",
        lambda: services.dependency_delete(actor=request.user, dependency=dependency),
        f"Removed: {dependency}.",
    )


# --- Freeze windows -----------------------------------------------------------------------


@login_required
@GET_OR_POST
def freeze_list(request: HttpRequest) -> HttpResponse:
    can_manage = perms.can_manage_freezes(request.user)
    form = None
    if request.method == "POST":
        perms.require(can_manage, "Only release managers can set freezes.")
        form = FreezeWindowForm(request.POST)
        if form.is_valid():
            try:
                freeze = services.freeze_window_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"Freeze window “{freeze.name}” created.")
                return redirect("releases:freezes")
    elif can_manage:
        form = FreezeWindowForm()
    now = timezone.now()
    freezes = selectors.visible_freeze_windows(request.user).filter(end__gt=now).order_by("start")
    return render(
        request,
        "releases/freeze_list.html",
        {"freezes": freezes, "now": now, "form": form, "can_manage": can_manage},
        status=_status(form) if form is not None else 200,
    )


@login_required
@GET_OR_POST
def freeze_delete(request: HttpRequest, pk: int) -> HttpResponse:
    perms.require(perms.can_manage_freezes(request.user), "Only release managers can set freezes.")
    freeze = get_object_or_404(FreezeWindow, pk=pk)
    if request.method == "POST":
        services.freeze_window_delete(actor=request.user, freeze=freeze)
        messages.success(request, f"Freeze window “{freeze.name}” deleted.")
    return redirect("releases:freezes")
