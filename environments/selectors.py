"""Reads over environments and bookings, each a constant number of index-backed queries.

Most of them lean on the promise the database keeps: holding (confirmed or active) bookings of
one environment never overlap. Sorted by start they are therefore sorted by end as well, so "the
first holding booking ending after t" is the only one that can cover t, and a walk along the
calendar reads rows in order from an index instead of scanning the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import BooleanField, Case, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from releases.models import Team
from releases.selectors import visible_release_q

from .models import (
    HOLDING,
    Booking,
    Deployment,
    Environment,
    MaintenanceWindow,
    WaitlistEntry,
    WaitlistState,
)

# Rows read by the first step of the free-slot walk (usually the next gap is a few bookings
# away), doubled at each further step up to a cap; and how many steps before it gives up.
_WALK_FIRST = 8
_WALK_MOST = 256
_WALK_STEPS = 24


def holding_bookings(environment: Environment, *, exclude: Booking | None = None) -> QuerySet:
    bookings = Booking.objects.filter(environment=environment, state__in=HOLDING)
    if exclude is not None:
        bookings = bookings.exclude(pk=exclude.pk)
    return bookings


def holder(
    environment: Environment, start: datetime, end: datetime, *, exclude: Booking | None = None
) -> Booking | None:
    """The earliest holding booking overlapping ``[start, end)``, or None: one index probe.

    The holding booking with the smallest end after ``start`` is the first one that could
    overlap; if it starts at or after ``end``, every later one does too.
    """
    first = (
        holding_bookings(environment, exclude=exclude)
        .filter(end__gt=start)
        .select_related("team", "booked_by", "environment")
        .order_by("end")
        .first()
    )
    return first if first is not None and first.start < end else None


def maintenance_overlapping(
    environment: Environment, start: datetime, end: datetime
) -> MaintenanceWindow | None:
    return (
        MaintenanceWindow.objects.filter(environment=environment, start__lt=end, end__gt=start)
        .order_by("start", "id")
        .first()
    )


def next_free_slot(
    environment: Environment,
    after: datetime,
    duration: timedelta,
    *,
    exclude: Booking | None = None,
) -> datetime | None:
    """The earliest start at or after ``after`` where ``duration`` fits between busy intervals
    (holding bookings and maintenance windows); None if none is found within a long walk.

    Reads busy intervals in start order, a batch at a time, from the requested start onwards;
    it never loads the environment's whole history.
    """
    cursor = after
    bookings = holding_bookings(environment, exclude=exclude)
    windows = MaintenanceWindow.objects.filter(environment=environment)
    batch = _WALK_FIRST
    for _ in range(_WALK_STEPS):
        # Ordered by end, holding bookings are ordered by start too (they never overlap).
        booked = list(
            bookings.filter(end__gt=cursor).order_by("end").values_list("start", "end")[:batch]
        )
        # Maintenance windows may overlap each other, so they are read in start order.
        maintained = list(
            windows.filter(end__gt=cursor).order_by("start").values_list("start", "end")[:batch]
        )
        # Every busy interval starting before ``horizon`` has been read; later ones may not.
        horizon = min(
            (rows[-1][0] for rows in (booked, maintained) if len(rows) == batch),
            default=None,
        )
        for start, end in sorted(booked + maintained):
            if horizon is not None and start > horizon:
                break
            if start >= cursor + duration:
                return cursor
            cursor = max(cursor, end)
        if horizon is None or cursor + duration <= horizon:
            return cursor
        batch = min(batch * 2, _WALK_MOST)
    return None


@dataclass(frozen=True)
class Busy:
    """A busy interval of an environment: a holding booking or a maintenance window."""

    start: datetime
    end: datetime
    booking: Booking | None = None
    maintenance: MaintenanceWindow | None = None

    @property
    def kind(self) -> str:
        return "booking" if self.booking is not None else "maintenance"

    @property
    def who(self) -> str:
        """Who holds it: the booking's team, or the environment's owners for maintenance."""
        if self.booking is not None:
            return self.booking.team.name
        return "Maintenance"

    @property
    def why(self) -> str:
        if self.booking is not None:
            return self.booking.purpose
        return self.maintenance.reason


@dataclass(frozen=True)
class Availability:
    environment: Environment
    start: datetime
    end: datetime
    busy: list[Busy]
    free: list[tuple[datetime, datetime]]


def availability(environment: Environment, start: datetime, end: datetime) -> Availability:
    """Busy intervals (who and why) and the free gaps of ``environment`` within ``[start, end)``.

    Two queries however many bookings there are.
    """
    bookings = list(
        bookings_overlapping(environment, start, end).select_related("team", "booked_by", "release")
    )
    windows = list(
        MaintenanceWindow.objects.filter(environment=environment, start__lt=end, end__gt=start)
        .select_related("created_by")
        .order_by("start", "id")
    )
    busy = sorted(
        [Busy(b.start, b.end, booking=b) for b in bookings]
        + [Busy(w.start, w.end, maintenance=w) for w in windows],
        key=lambda item: (item.start, item.end),
    )
    free = []
    cursor = start
    for item in busy:
        if item.start > cursor:
            free.append((cursor, min(item.start, end)))
        cursor = max(cursor, item.end)
    if cursor < end:
        free.append((cursor, end))
    return Availability(environment, start, end, busy, free)


def bookings_overlapping(environment: Environment, start: datetime, end: datetime) -> QuerySet:
    """Holding bookings of ``environment`` overlapping ``[start, end)``, in order, in one query.

    The first holding booking to end after ``start`` is the earliest that can overlap (they
    never overlap each other), so the range read on the start index begins at its start instead
    of at the beginning of history.
    """
    holding = holding_bookings(environment)
    floor = holding.filter(end__gt=start).order_by("end").values("start")[:1]
    return (
        holding.filter(start__lt=end, end__gt=start)
        .filter(start__gte=Coalesce(Subquery(floor), Value(start)))
        .order_by("start")
    )


def environments_with_current_deployment() -> QuerySet:
    """Every environment with its owners and what is deployed there, in one query."""
    return Environment.objects.select_related(
        "owner_team",
        "current_deployment",
        "current_deployment__release",
        "current_deployment__deployed_by",
    ).order_by("name")


def bookings_for_team(team_or_user, *, states=HOLDING) -> QuerySet:
    """Bookings of a team, or of every team a user belongs to ("my team's bookings"), by start.

    ``states`` defaults to the holding ones; pass None for the whole history.
    """
    bookings = Booking.objects.select_related("environment", "team", "release", "booked_by")
    if isinstance(team_or_user, Team):
        bookings = bookings.filter(team=team_or_user)
    else:
        bookings = bookings.filter(team__in=Team.objects.filter(members=team_or_user))
    if states is not None:
        bookings = bookings.filter(state__in=states)
    return bookings.order_by("start", "id")


def with_release_visibility(queryset: QuerySet, user, prefix: str = "release__") -> QuerySet:
    """Annotate ``release_visible``: whether ``user`` may see the release at ``prefix``.

    Bookings and deployments are shown to everyone signed in (a slot is taken, whoever took
    it), but the release they name follows the releases' own visibility: a private team's
    release is not named to outsiders. One annotation, not a query per row.
    """
    visible = visible_release_q(user, prefix)
    if visible == Q():
        return queryset.annotate(release_visible=Value(True, output_field=BooleanField()))
    return queryset.annotate(
        release_visible=Case(
            When(visible, then=Value(True)), default=Value(False), output_field=BooleanField()
        )
    )


def deployments(user) -> QuerySet:
    """Deployments with what their rows show (environment, release, build, who, the rollbacks
    of each) in a fixed number of queries, the release hidden from readers who may not see it
    (``release_visible``). Newest first."""
    rollbacks = Deployment.objects.only("id", "rollback_of_id", "outcome").order_by(
        "deployed_at", "id"
    )
    return with_release_visibility(
        Deployment.objects.select_related("environment", "release", "candidate", "deployed_by")
        .prefetch_related(Prefetch("rollbacks", queryset=rollbacks))
        .order_by("-deployed_at", "-id"),
        user,
    )


def holding_bookings_between(start: datetime, end: datetime) -> QuerySet:
    """Holding bookings of every environment overlapping ``[start, end)``, in one query (the
    timeline page); for one environment, ``bookings_overlapping`` reads less."""
    return (
        Booking.objects.filter(state__in=HOLDING, start__lt=end, end__gt=start)
        .select_related("team", "release", "booked_by")
        .order_by("environment_id", "start")
    )


def maintenance_between(start: datetime, end: datetime) -> QuerySet:
    return MaintenanceWindow.objects.filter(start__lt=end, end__gt=start).order_by(
        "environment_id", "start", "id"
    )


def waiting_between(start: datetime, end: datetime, *, now: datetime) -> QuerySet:
    """Waiting waitlist entries of every environment overlapping ``[start, end)`` that have not
    ended by ``now`` (a window already past can no longer be granted), in one query (the
    timeline page)."""
    return (
        WaitlistEntry.objects.filter(
            state=WaitlistState.WAITING, start__lt=end, end__gt=max(start, now)
        )
        .select_related("team")
        .order_by("environment_id", "start", "created_at", "id")
    )


def environment_choices() -> list[dict]:
    """Every environment's slug and name, by name: the calendar pages' filter choices
    (environments are shown to everyone signed in, as on the environment pages)."""
    return list(Environment.objects.order_by("name").values("slug", "name"))
