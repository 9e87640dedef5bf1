"""The release list and the release page, and the forms that create, edit, delete and move a
release."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from relcal.forms import add_service_errors

from .. import permissions as perms
from .. import selectors, services
from ..forms import (
    DependencyForm,
    MilestoneForm,
    ReleaseForm,
    ReleaseListFilter,
    ScopeItemForm,
    TransitionForm,
)
from ..models import (
    DependencyKind,
    Milestone,
    MilestoneKind,
    Release,
    ReleaseDependency,
    ReleaseState,
)
from ..panels import render_release_panels
from .refused import refuse, take

PAGE_SIZE = 50


GET_OR_POST = require_http_methods(["GET", "POST"])


def _can_delete(user, release: Release) -> bool:
    # Only offer what services.release_delete would accept.
    return perms.can_delete_release(user, release) and release.state in (
        ReleaseState.DRAFT,
        ReleaseState.CANCELLED,
    )


def form_status(form) -> int:
    return 400 if form.is_bound and form.errors else 200


def release_or_404(pk: int) -> Release:
    return get_object_or_404(Release.objects.select_related("team", "manager"), pk=pk)


def back_to(release: Release, anchor: str) -> HttpResponse:
    return redirect(f"{release.get_absolute_url()}#{anchor}")


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


def detail_response(request: HttpRequest, pk: int, status: int = 200) -> HttpResponse:
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
        # ``dependency_q`` is the dependency picker's plain search (it works without JavaScript).
        context["dependency_form"] = DependencyForm(
            release=release, user=user, search=request.GET.get("dependency_q", "")
        )
    if context["can_edit_scope"]:
        context["scope_form"] = ScopeItemForm()
    if context["can_transition"]:
        context["transition_form"] = TransitionForm(release=release)
    # A refused form (kept by ``refused.refuse`` across the redirect) replaces the fresh one, and
    # is shown even where a fresh one would not be offered (e.g. the scope froze meanwhile), so
    # that its error reaches the user.
    builders = {
        "milestone_form": MilestoneForm,
        "scope_form": ScopeItemForm,
        "dependency_form": lambda data: DependencyForm(data, release=release, user=user),
        "transition_form": lambda data: TransitionForm(data, release=release),
    }
    context.update(take(request, release, builders))
    # What other apps show here (sign-offs, …), registered by them: see releases/panels.py.
    context["panels"] = render_release_panels(request, release)
    return render(request, "releases/release_detail.html", context, status=status)


@login_required
@require_GET
def release_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return detail_response(request, pk)


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
        request,
        "releases/release_form.html",
        {"form": form, "release": None},
        status=form_status(form),
    )


@login_required
@GET_OR_POST
def release_edit(request: HttpRequest, pk: int) -> HttpResponse:
    release = release_or_404(pk)
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
        status=form_status(form),
    )


@login_required
@GET_OR_POST
def release_delete(request: HttpRequest, pk: int) -> HttpResponse:
    release = release_or_404(pk)
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
    release = release_or_404(pk)
    perms.require(
        perms.can_transition_release(request.user, release),
        "Only release managers and this release's manager can move it through its lifecycle.",
    )
    if request.method == "GET":
        return back_to(release, "lifecycle")
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
            return back_to(release, "lifecycle")
    return refuse(
        request,
        release,
        form_key="transition_form",
        form=form,
        anchor="lifecycle",
        what=f"{release.name} was not moved",
    )
