"""Booking pages: the availability timeline, the booking and waitlist forms, and "my team's
bookings" with extend, release, cancel and withdraw."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from relcal.errors import Conflict
from relcal.forms import add_service_errors
from relcal.times import fmt_minutes
from releases.models import Team

from .. import permissions as perms
from .. import selectors, services, timeline
from ..forms import (
    BookingForm,
    ExtendForm,
    WaitlistForm,
    bookable_teams,
    may_book,
)
from ..models import HOLDING, Booking, Environment, WaitlistEntry, WaitlistState
from ..privacy import conceal

GET_OR_POST = require_http_methods(["GET", "POST"])


# Bookings per page of "my team's bookings", and waitlist entries shown on it.
MY_BOOKINGS_PAGE = 25
MY_WAITLIST_SHOWN = 25

NOT_A_BOOKER = "Only members of a team (and release managers) can book environments."


def _require_booker(request: HttpRequest) -> None:
    perms.require(may_book(request.user), NOT_A_BOOKER)


def _next_url(request: HttpRequest, default: str) -> str:
    """Where a one-button action returns to: the page it was on, if it is one of ours."""
    candidate = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _timeline_url(day: date | None = None, **params: Any) -> str:
    if day is not None:
        params["from"] = day.isoformat()
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("environments:timeline") + (f"?{query}" if query else "")


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@login_required
@require_GET
def timeline_page(request: HttpRequest) -> HttpResponse:
    try:
        first_day = date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        first_day = timezone.localdate()
    try:
        days = int(request.GET.get("days", ""))
    except ValueError:
        days = timeline.SPANS[0]
    if days not in timeline.SPANS and days != timeline.DAY_SPAN:
        days = timeline.SPANS[0]
    # Far enough for any plan; near enough that date arithmetic cannot overflow.
    today = timezone.localdate()
    if abs((first_day - today).days) > 3660:
        first_day = today
    return render(
        request,
        "environments/timeline.html",
        {
            "timeline": timeline.build(first_day, days, user=request.user),
            "spans": timeline.SPANS,
            "today": today,
            "may_book": may_book(request.user),
        },
    )


def _parse_moment(form, name: str, value: str) -> datetime | None:
    try:
        return form.fields[name].clean(value) if value else None
    except ValidationError:
        return None


def _initial(request: HttpRequest, form_class) -> dict:
    """The form pre-filled from the query string (the timeline's links, "book this slot"): an
    environment slug, a team slug, a release id, a purpose and start/end times."""
    params = request.GET
    probe = form_class(user=request.user)
    initial: dict[str, Any] = {}
    environment = Environment.objects.filter(slug=params.get("environment", "")).first()
    if environment is not None:
        initial["environment"] = environment.slug
    team_slug = params.get("team")
    if team_slug:  # a one-team user's own team is chosen by the form itself
        team = bookable_teams(request.user).filter(slug=team_slug).first()
        if team is not None:
            initial["team"] = team.pk
    if "release" in probe.fields and params.get("release", "").isdigit():
        initial["release"] = params["release"]
    if params.get("purpose"):
        initial["purpose"] = params["purpose"][:200]
    start = _parse_moment(probe, "start", params.get("start", ""))
    if start is None:
        start = timezone.localtime().replace(minute=0, second=0, microsecond=0)
        start += timedelta(hours=1)
    end = _parse_moment(probe, "end", params.get("end", ""))
    if end is None or end <= start:
        length = timedelta(hours=2)
        if environment is not None and environment.max_booking_minutes:
            length = min(length, timedelta(minutes=environment.max_booking_minutes))
        end = start + length
    initial.update(start=start, end=end)
    return initial


def _conflict(error: Conflict, form: BookingForm, user) -> dict:
    """What the conflict box shows: the booking that holds the slot and the suggested one,
    with the fields for the "book this slot instead" and "join the waitlist" buttons."""
    details = error.details
    summary = details.get("conflict") or {}
    holder = (
        Booking.objects.select_related("team", "booked_by").filter(pk=summary.get("id")).first()
    )
    if holder is not None:
        # A private team's booking shows only that the slot is taken (environments.privacy).
        [holder] = conceal(user, [holder])
    data = form.cleaned_data
    slot = {
        "environment": data["environment"].slug,
        "team": data["team"].pk,
        "purpose": data["purpose"],
    }
    suggested = details.get("suggested")
    context: dict[str, Any] = {
        "message": error.message,
        "holder": holder,
        "holder_when": timeline.span_label(holder.start, holder.end, with_day=True)
        if holder
        else "",
        "environment": data["environment"],
        "waitlist": {**slot, "start": data["start"].isoformat(), "end": data["end"].isoformat()},
        "suggested": None,
    }
    if suggested:
        minutes = round((suggested["end"] - suggested["start"]) / timedelta(minutes=1))
        context["suggested"] = {
            "when": timeline.span_label(suggested["start"], suggested["end"], with_day=True),
            "length": fmt_minutes(minutes),
            "fields": {
                **slot,
                "release": data["release"].pk if data.get("release") else "",
                "start": suggested["start"].isoformat(),
                "end": suggested["end"].isoformat(),
            },
        }
    return context


@login_required
@GET_OR_POST
def book(request: HttpRequest) -> HttpResponse:
    _require_booker(request)
    user = request.user
    if request.method == "POST":
        form = BookingForm(request.POST, user=user)
    else:
        form = BookingForm(initial=_initial(request, BookingForm), user=user)
    conflict = None
    status = 200
    if form.is_bound:
        if form.is_valid():
            try:
                booking = services.booking_create(actor=user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            except Conflict as error:
                conflict = _conflict(error, form, request.user)
            else:
                when = timeline.span_label(booking.start, booking.end, with_day=True)
                messages.success(
                    request, f"Booked {booking.environment} for {booking.team}: {when}."
                )
                local_day = timezone.localtime(booking.start).date()
                return redirect(_timeline_url(local_day))
        status = 409 if conflict else 400
    return render(
        request,
        "environments/book.html",
        {"form": form, "conflict": conflict},
        status=status,
    )


@login_required
@require_POST
def waitlist_join(request: HttpRequest) -> HttpResponse:
    _require_booker(request)
    form = WaitlistForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            entry = services.waitlist_join(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            when = timeline.span_label(entry.start, entry.end, with_day=True)
            messages.success(
                request,
                f"{entry.team} is on the waitlist for {entry.environment}, {when}. If the slot "
                "frees up, the first team in line gets it.",
            )
            return redirect("environments:my-bookings")
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    # Back to the booking form, filled in as it was.
    query = {name: request.POST.get(name, "") for name in ("environment", "purpose")}
    return redirect(f"{reverse('environments:book')}?{urlencode(query)}")


def _my_teams(user) -> Q:
    # A subquery rather than a join over members, which would repeat rows.
    return Q(team__in=Team.objects.filter(members=user).values("pk"))


@login_required
@require_GET
def my_bookings(request: HttpRequest) -> HttpResponse:
    _require_booker(request)
    user = request.user
    now = timezone.now()
    bookings = selectors.with_release_visibility(
        Booking.objects.select_related("environment", "team", "release", "booked_by"), user
    ).filter(_my_teams(user) | Q(booked_by=user))  # managers book for teams they are not in
    current = bookings.filter(state__in=HOLDING, end__gt=now).order_by("start", "id")
    # A page at a time: a manager books for every team, and a pipeline books many times a day,
    # so "everything current" has no upper bound.
    page = Paginator(current, MY_BOOKINGS_PAGE).get_page(request.GET.get("page"))
    ended = bookings.exclude(state__in=HOLDING).order_by("-ended_at", "-id")[:10]
    waiting = (
        WaitlistEntry.objects.filter(_my_teams(user) | Q(requested_by=user))
        .filter(state=WaitlistState.WAITING, end__gt=now)
        .select_related("environment", "team", "requested_by")
        .order_by("start", "id")
    )
    # The soonest entries, and how many more: one query more than a plain list, never a table.
    shown_waiting = list(waiting[: MY_WAITLIST_SHOWN + 1])
    more_waiting = 0
    if len(shown_waiting) > MY_WAITLIST_SHOWN:
        shown_waiting = shown_waiting[:MY_WAITLIST_SHOWN]
        more_waiting = waiting.count() - MY_WAITLIST_SHOWN
    return render(
        request,
        "environments/my_bookings.html",
        {
            "page": page,
            "bookings": [_with_actions(b, now) for b in page.object_list],
            "ended": [with_when(b) for b in ended],
            "waiting": [with_when(e) for e in shown_waiting],
            "more_waiting": more_waiting,
            "now": now,
        },
    )


def _with_actions(booking: Booking, now: datetime) -> Booking:
    booking.started = booking.start <= now
    booking.when = timeline.span_label(booking.start, booking.end, with_day=True)
    # The extend form suggests half an hour more.
    booking.extend_form = ExtendForm(
        initial={"end": booking.end + timedelta(minutes=30)}, auto_id=f"extend-{booking.pk}-%s"
    )
    return booking


def _changeable(request: HttpRequest, pk: int) -> Booking:
    booking = get_object_or_404(Booking.objects.select_related("environment", "team"), pk=pk)
    perms.require(
        perms.can_change_booking(request.user, booking),
        f"Only members of {booking.team}, the owners of {booking.environment} and release "
        "managers can change this booking.",
    )
    return booking


def _booking_action(request: HttpRequest, pk: int, run, done) -> HttpResponse:
    """Run ``run(booking)`` (a service call) and come back with ``done(booking)`` or the
    refusal as a message."""
    booking = _changeable(request, pk)
    back = _next_url(request, reverse("environments:my-bookings"))
    if request.method == "GET":
        return redirect(back)
    try:
        booking = run(booking)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done(booking))
    return redirect(back)


@login_required
@GET_OR_POST
def booking_extend(request: HttpRequest, pk: int) -> HttpResponse:
    def run(booking: Booking) -> Booking:
        form = ExtendForm(request.POST)
        if not form.is_valid():
            raise ValidationError(form.errors["end"])
        return services.booking_extend(actor=request.user, booking=booking, **form.cleaned_data)

    return _booking_action(
        request,
        pk,
        run,
        lambda b: f"{b.environment} is now booked until {timeline.span_label(b.start, b.end)}.",
    )


@login_required
@GET_OR_POST
def booking_release(request: HttpRequest, pk: int) -> HttpResponse:
    return _booking_action(
        request,
        pk,
        lambda booking: services.booking_release(actor=request.user, booking=booking),
        lambda b: f"{b.environment} given back ({b.get_state_display().lower()}).",
    )


@login_required
@GET_OR_POST
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _booking_action(
        request,
        pk,
        lambda booking: services.booking_cancel(actor=request.user, booking=booking),
        lambda b: f"Booking of {b.environment} for “{b.purpose}” cancelled.",
    )


@login_required
@GET_OR_POST
def waitlist_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(WaitlistEntry.objects.select_related("team", "environment"), pk=pk)
    perms.require(
        perms.can_withdraw_waitlist(request.user, entry),
        f"Only members of {entry.team} (and release managers) can withdraw this entry.",
    )
    if request.method == "POST":
        try:
            services.waitlist_withdraw(actor=request.user, entry=entry)
        except ValidationError as error:
            messages.error(request, _error_text(error))
        except Conflict as error:  # granted or withdrawn meanwhile
            messages.error(request, error.message)
        else:
            messages.success(request, f"{entry.team} left the waitlist for {entry.environment}.")
    return redirect("environments:my-bookings")


def with_when(row):
    """A booking or waitlist entry, with its window as the pages show it."""
    row.when = timeline.span_label(row.start, row.end, with_day=True)
    return row
