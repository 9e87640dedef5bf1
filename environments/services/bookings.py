"""Booking an environment: create, acquire now, extend, release early, cancel, expire.

Every function is atomic: on any refusal nothing is stored. Refusals are ``ValidationError``
keyed by field, ``PermissionDenied``, or ``relcal.errors.Conflict`` when another booking holds
the slot (naming it, and offering the next free slot of the same length).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from relcal import audit
from relcal.db import locked
from relcal.errors import Conflict
from relcal.times import fmt, require_aware
from releases.models import Release, Team

from .. import metrics, selectors
from .. import permissions as perms
from ..models import HOLDING, Booking, BookingState, Environment
from . import _rules as rules
from .waitlist import promote_waitlist, record_grants

State = BookingState


def _new_booking(
    *,
    actor,
    environment: Environment,
    team: Team,
    start: datetime,
    end: datetime,
    purpose: str,
    release: Release | None,
    now: datetime,
    action: str,
    acquired: bool = False,
) -> Booking:
    """Check everything about a new booking of ``[start, end)`` (in UTC), then store it."""
    rules.check_rules(environment, start, end, now=now)
    booking = Booking(
        acquired=acquired,
        environment=environment,
        team=team,
        release=release,
        purpose=purpose,
        start=start,
        end=end,
        booked_by=actor,
        state=State.ACTIVE if start <= now else State.CONFIRMED,
    )
    rules.full_clean(booking)
    rules.check_maintenance(environment, start, end)
    rules.check_team_limit(environment, team, now=now)
    holder = selectors.holder(environment, start, end)
    if holder is not None:
        raise rules.conflict(environment, holder, start, end)
    rules.save_holding(booking, on_overlap=lambda: rules.lost_race(environment, start, end))
    rules.record_created(actor, action, booking, rules.BOOKING_AUDIT)
    return booking


def _require_booker(actor, team: Team) -> None:
    perms.require(
        perms.can_book_for(actor, team),
        f"Only members of {team} (and release managers) can book for {team}.",
    )


@transaction.atomic
def booking_create(
    *,
    actor,
    environment: Environment,
    team: Team,
    start: datetime,
    end: datetime,
    purpose: str,
    release: Release | None = None,
) -> Booking:
    """Book ``environment`` for ``team`` over ``[start, end)``. Confirmed, or active at once
    when it starts now."""
    _require_booker(actor, team)
    now = timezone.now()
    start, end = rules.check_times(start=start, end=end, now=now)
    return _new_booking(
        actor=actor,
        environment=environment,
        team=team,
        start=start,
        end=end,
        purpose=purpose,
        release=release,
        now=now,
        action="booking.create",
    )


# Anything longer is a mistake (and would overflow a datetime soon enough).
MAX_ACQUIRE_MINUTES = 7 * 24 * 60


@transaction.atomic
def booking_acquire(
    *,
    actor,
    environment: Environment,
    team: Team,
    minutes: int,
    purpose: str,
    release: Release | None = None,
) -> Booking:
    """Hold ``environment`` from now for ``minutes`` (a CI run), or fail with a Conflict naming
    who holds it until when. Problems with the times are reported under ``minutes``."""
    _require_booker(actor, team)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        raise ValidationError({"minutes": "Give a whole number of minutes, at least 1."})
    if minutes > MAX_ACQUIRE_MINUTES:
        raise ValidationError(
            {"minutes": f"Acquire for at most {MAX_ACQUIRE_MINUTES} minutes (a week)."}
        )
    now = timezone.now()
    with rules.fields_renamed({"start": "minutes", "end": "minutes"}):
        return _new_booking(
            actor=actor,
            environment=environment,
            team=team,
            start=now,
            end=now + timedelta(minutes=minutes),
            purpose=purpose,
            release=release,
            now=now,
            action="booking.acquire",
            acquired=True,
        )


def _lock_changeable(actor, booking: Booking) -> Booking:
    """The booking, re-read and locked, once we know ``actor`` may change it and it holds.

    One that has ended is a 409 (the request conflicts with its state), whether it ended long
    ago or a concurrent request ended it a moment ago (a cancel and an extend at once): the
    same answer either way, since the caller cannot tell which."""
    booking = locked(Booking.objects.select_related("environment", "team", "booked_by"), booking.pk)
    perms.require(
        perms.can_change_booking(actor, booking),
        f"Only members of {booking.team}, the owners of {booking.environment} and release "
        "managers can change this booking.",
    )
    if not booking.is_holding:
        raise Conflict(
            f"This booking is {booking.get_state_display().lower()}; only confirmed or active "
            "bookings can change.",
            # The shape of every booking 409 (extend's names what is in the way: nothing here).
            details={"state": booking.state, "conflict": None, "suggested": None},
        )
    return booking


@transaction.atomic
def booking_extend(*, actor, booking: Booking, end: datetime) -> Booking:
    """Move the end of a holding booking (later, or earlier: the freed time goes to the
    waitlist). A later end must not run into another booking or a maintenance window."""
    booking = _lock_changeable(actor, booking)
    require_aware(end=end)
    end = rules.utc(end)
    now = timezone.now()
    environment = booking.environment
    if end <= booking.start:
        raise ValidationError({"end": "The booking must end after it starts."})
    if end <= now:
        raise ValidationError(
            {"end": f"The new end {fmt(end)} has passed; release the booking instead."}
        )
    if end - booking.start > rules.LONGEST:
        raise ValidationError({"end": "A booking can last at most a year."})
    rules.check_rules(environment, booking.start, end, now=now, notice=False)
    old_end = booking.end
    if end == old_end:
        return booking  # nothing changes: calendars must not see a change (SEQUENCE, DTSTAMP)
    if end > old_end:
        with rules.fields_renamed({"start": "end"}):
            rules.check_maintenance(environment, old_end, end)
        holder = selectors.holder(environment, old_end, end, exclude=booking)
        if holder is not None:
            raise _extend_conflict(booking, holder)
    booking.end = end
    booking.sequence += 1  # the new end shows in calendars
    rules.save_holding(
        booking,
        update_fields=["end", "sequence", "updated_at"],
        on_overlap=lambda: _extend_lost_race(booking, old_end, end),
    )
    granted = promote_waitlist(environment, now=now) if end < old_end else []
    audit.record_change(actor, "booking.extend", booking, {"end": audit.jsonable(old_end)}, ["end"])
    record_grants(granted)
    return booking


def _extend_conflict(booking: Booking, holder: Booking) -> Conflict:
    """Names the booking in the way; what it offers is the latest end that still fits."""
    metrics.booking_conflict(booking.environment)
    if holder.start > booking.end:
        offer = f"this booking can be extended until {fmt(holder.start)}"
    else:
        offer = "this booking cannot be extended"
    return Conflict(
        f"{rules.held_by(holder)}; {offer}.",
        details={
            "conflict": rules.booking_summary(holder),
            "suggested": {"start": booking.start, "end": holder.start},
        },
    )


def _extend_lost_race(booking: Booking, old_end: datetime, end: datetime) -> Conflict:
    holder = selectors.holder(booking.environment, old_end, end, exclude=booking)
    if holder is None:
        return rules.lost_race(booking.environment, old_end, end, exclude=booking)
    booking.end = old_end
    return _extend_conflict(booking, holder)


def _end(
    actor,
    booking: Booking,
    state: str,
    *,
    action: str,
    now: datetime,
    ended_at: datetime,
    end: datetime | None = None,
) -> Booking:
    before = audit.values(booking, rules.ENDING_AUDIT)
    booking.state = state
    booking.ended_at = ended_at
    booking.sequence += 1  # the state (and maybe the end) shows in calendars
    fields = ["state", "ended_at", "sequence", "updated_at"]
    if end is not None:
        booking.end = end
        fields.append("end")
    booking.save(update_fields=fields)
    granted = promote_waitlist(booking.environment, now=now)  # before recording: relcal.db
    audit.record_change(actor, action, booking, before, rules.ENDING_AUDIT)
    record_grants(granted)
    return booking


@transaction.atomic
def booking_release(*, actor, booking: Booking) -> Booking:
    """Give the rest of a started booking back: it ends now (state released early) and the
    freed time goes to the waitlist.

    A booking that has not started yet has nothing to release: it is cancelled instead (state
    cancelled), so a pipeline's "release" never fails just because it was quick. One whose end
    has passed already is marked expired, as the expiry task would.
    """
    booking = _lock_changeable(actor, booking)
    now = timezone.now()
    action = "booking.release"
    if booking.start >= now:
        return _end(actor, booking, State.CANCELLED, action=action, now=now, ended_at=now)
    if booking.end <= now:
        return _end(actor, booking, State.EXPIRED, action=action, now=now, ended_at=booking.end)
    return _end(actor, booking, State.RELEASED_EARLY, action=action, now=now, ended_at=now, end=now)


@transaction.atomic
def booking_cancel(*, actor, booking: Booking) -> Booking:
    """Call a holding booking off; its time goes to the waitlist."""
    booking = _lock_changeable(actor, booking)
    now = timezone.now()
    return _end(actor, booking, State.CANCELLED, action="booking.cancel", now=now, ended_at=now)


@transaction.atomic
def booking_expire_due(*, now: datetime | None = None) -> int:
    """The periodic task: holding bookings whose end has passed become expired (their time
    goes to the waitlist), confirmed ones that have started become active. Returns how many
    expired. Safe to run concurrently: each run takes only the rows no other run has locked."""
    now = now or timezone.now()
    expired = _move(Booking.objects.filter(state__in=HOLDING, end__lte=now), State.EXPIRED)
    activated = _move(
        Booking.objects.filter(state=State.CONFIRMED, start__lte=now, end__gt=now), State.ACTIVE
    )
    environment_ids = {booking.environment_id for booking, _before in expired}
    granted = []
    # Every row lock (the moves, the grants) before the first audit event: relcal.db.
    for environment in Environment.objects.filter(pk__in=environment_ids).order_by("pk"):
        granted += promote_waitlist(environment, now=now)
    _record_moved(expired, "booking.expire")
    _record_moved(activated, "booking.activate")
    record_grants(granted)
    return len(expired)


_MOVED = ["state", "ended_at"]


def _move(due, state: str) -> list[tuple[Booking, dict]]:
    """Move the bookings in ``due`` that no concurrent run holds to ``state``; returns each with
    its values before, for ``_record_moved``. An expired booking ended at its end."""
    claimed = list(due.select_for_update(skip_locked=True, of=("self",)).order_by())
    if not claimed:
        return []
    ended = state == State.EXPIRED
    Booking.objects.filter(pk__in=[booking.pk for booking in claimed]).update(
        state=state,
        ended_at=F("end") if ended else F("ended_at"),
        sequence=F("sequence") + 1,  # the state shows in calendars
        updated_at=timezone.now(),
    )
    moved = []
    for booking in claimed:
        before = audit.values(booking, _MOVED)
        booking.state = state
        if ended:
            booking.ended_at = booking.end
        moved.append((booking, before))
    return moved


def _record_moved(moved: list[tuple[Booking, dict]], action: str) -> None:
    """An audit event for each moved booking (the task is the actor: none)."""
    for booking, before in moved:
        audit.record_change(None, action, booking, before, _MOVED)
