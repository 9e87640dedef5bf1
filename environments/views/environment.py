"""An environment's page: its bookings, history and rules, and the forms its owners use to
change the rules and plan maintenance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from relcal.forms import add_service_errors
from relcal.times import fmt_minutes

from .. import permissions as perms
from .. import selectors, services, timeline
from ..forms import (
    MaintenanceForm,
    RulesForm,
    may_book,
)
from ..models import Environment, MaintenanceWindow, WaitlistState
from ..privacy import conceal
from .bookings import GET_OR_POST, with_when
from .deployments import with_steps

UPCOMING_SHOWN = 50


HISTORY_SHOWN = 20


def _environment(slug: str, user) -> Environment:
    environments = selectors.with_release_visibility(
        selectors.environments_with_current_deployment(), user, "current_deployment__release__"
    )
    return get_object_or_404(environments, slug=slug)


def _upcoming(environment: Environment, user, now: datetime) -> QuerySet:
    return selectors.with_release_visibility(
        selectors.holding_bookings(environment)
        .filter(end__gt=now)
        .select_related("team", "release", "booked_by")
        .order_by("start", "id"),
        user,
    )[:UPCOMING_SHOWN]


def _detail_response(
    request: HttpRequest, slug: str, status: int = 200, **forms: Any
) -> HttpResponse:
    user = request.user
    environment = _environment(slug, user)
    now = timezone.now()
    can_manage = perms.can_manage_environment(user, environment)
    # The newest; the environment's deployments page has them all.
    deployments = with_steps(
        selectors.deployments(user).filter(environment=environment)[:HISTORY_SHOWN]
    )
    context: dict[str, Any] = {
        "environment": environment,
        "current": environment.current_deployment,
        "bookings": [with_when(b) for b in conceal(user, _upcoming(environment, user, now))],
        "maintenance": [
            with_when(window)
            for window in environment.maintenance_windows.filter(end__gt=now).order_by(
                "start", "id"
            )
        ],
        "rules": _rules(environment),
        "waiting": [
            with_when(entry)
            for entry in conceal(
                user,
                environment.waitlist_entries.filter(
                    state=WaitlistState.WAITING, end__gt=now
                ).select_related("team"),
            )
        ],
        "deployments": deployments,
        "can_manage": can_manage,
        "may_book": may_book(user) and environment.bookable,
        "now": now,
    }
    if can_manage:
        context["maintenance_form"] = MaintenanceForm()
        context["rules_form"] = RulesForm(initial=RulesForm.initial_for(environment))
    context.update(forms)
    return render(request, "environments/detail.html", context, status=status)


def _rules(environment: Environment) -> list[tuple[str, str]]:
    fmt = fmt_minutes
    longest, notice = environment.max_booking_minutes, environment.min_notice_minutes
    per_team = environment.max_active_bookings_per_team
    return [
        ("Longest booking", fmt(longest) if longest else "no limit"),
        ("Minimum notice", fmt(notice) if notice else "none"),
        ("Bookings per team at once", f"at most {per_team}" if per_team else "no limit"),
    ]


@login_required
@require_GET
def environment_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _detail_response(request, slug)


def _managed(request: HttpRequest, slug: str) -> Environment:
    environment = get_object_or_404(Environment.objects.select_related("owner_team"), slug=slug)
    perms.require(
        perms.can_manage_environment(request.user, environment),
        f"Only the owners of {environment} and release managers can change it.",
    )
    return environment


def _back_to(environment: Environment, anchor: str) -> HttpResponse:
    return redirect(reverse("environments:detail", args=[environment.slug]) + f"#{anchor}")


@login_required
@GET_OR_POST
def rules_edit(request: HttpRequest, slug: str) -> HttpResponse:
    environment = _managed(request, slug)
    if request.method == "GET":
        return _back_to(environment, "rules")
    form = RulesForm(request.POST)
    if form.is_valid():
        try:
            services.environment_update(
                actor=request.user, environment=environment, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Booking rules of {environment} saved.")
            return _back_to(environment, "rules")
    return _detail_response(request, slug, status=400, rules_form=form, rules_open=True)


@login_required
@GET_OR_POST
def maintenance_add(request: HttpRequest, slug: str) -> HttpResponse:
    environment = _managed(request, slug)
    if request.method == "GET":
        return _back_to(environment, "maintenance")
    form = MaintenanceForm(request.POST)
    if form.is_valid():
        try:
            window = services.maintenance_window_create(
                actor=request.user, environment=environment, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            when = timeline.span_label(window.start, window.end, with_day=True)
            messages.success(request, f"Maintenance of {environment} scheduled: {when}.")
            return _back_to(environment, "maintenance")
    return _detail_response(request, slug, status=400, maintenance_form=form, maintenance_open=True)


@login_required
@GET_OR_POST
def maintenance_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    environment = _managed(request, slug)
    window = get_object_or_404(MaintenanceWindow, pk=pk, environment=environment)
    if request.method == "POST":
        services.maintenance_window_delete(actor=request.user, window=window)
        messages.success(request, f"Maintenance “{window.reason}” of {environment} removed.")
    return _back_to(environment, "maintenance")
