"""Forms on the release page for what it plans: milestones, scope items and dependencies. Each
posts to its own URL and answers with a redirect to the release page, with the errors when
refused (see ``refused``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from relcal.forms import add_service_errors

from .. import permissions as perms
from .. import services
from ..forms import (
    DependencyForm,
    MilestoneForm,
    ScopeItemForm,
)
from ..models import (
    Milestone,
    Release,
    ReleaseDependency,
    ScopeItem,
)
from .pages import GET_OR_POST, back_to, release_or_404
from .refused import refuse

# How a refusal is announced at the top of the release page, per form.
NOT_SAVED = {
    "milestone_form": "The milestone was not added",
    "scope_form": "The scope item was not added",
    "dependency_form": "The dependency was not added",
}


def _planner_release(request: HttpRequest, pk: int) -> Release:
    release = release_or_404(pk)
    perms.require(
        perms.can_edit_release(request.user, release),
        "Only release managers and this release's manager can change its plan.",
    )
    return release


def _scope_release(request: HttpRequest, pk: int) -> Release:
    release = release_or_404(pk)
    perms.require(
        perms.can_edit_scope(request.user, release),
        "Only release managers and the owning team can change a release's scope.",
    )
    return release


def _submit(request, release: Release, form, form_key: str, anchor: str, action) -> HttpResponse:
    """Run ``action(cleaned_data)`` (a service call returning a success message) for a valid
    form; when the form or the service refuses, back to the release page with the errors."""
    if form.is_valid():
        try:
            message = action(form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, message)
            return back_to(release, anchor)
    return refuse(
        request, release, form_key=form_key, form=form, anchor=anchor, what=NOT_SAVED[form_key]
    )


def _act(request, release: Release, anchor: str, action, message: str) -> HttpResponse:
    """Run a one-button action (delete, tick); a refusal comes back as an error message."""
    try:
        action()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, message)
    return back_to(release, anchor)


@login_required
@GET_OR_POST
def milestone_add(request: HttpRequest, pk: int) -> HttpResponse:
    release = _planner_release(request, pk)
    if request.method == "GET":
        return back_to(release, "milestones")

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
        return back_to(release, "milestones")
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
        return back_to(release, "milestones")
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
        return back_to(release, "scope")

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
        return back_to(release, "scope")
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
        return back_to(release, "dependencies")

    def create(data):
        dep = services.dependency_create(actor=request.user, release=release, **data)
        return f"{dep}."

    form = DependencyForm(request.POST, release=release, user=request.user)
    return _submit(request, release, form, "dependency_form", "dependencies", create)


@login_required
@GET_OR_POST
def dependency_delete(request: HttpRequest, pk: int, dependency_pk: int) -> HttpResponse:
    release = release_or_404(pk)
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
        return back_to(release, "dependencies")
    return _act(
        request,
        release,
        "dependencies",
        lambda: services.dependency_delete(actor=request.user, dependency=dependency),
        f"Removed: {dependency}.",
    )
