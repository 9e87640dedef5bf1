"""The checks every booking path shares (create, acquire, extend, waitlist, promotion), and the
one way a clash with another booking is reported: ``relcal.errors.Conflict``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, models, transaction
from django.utils import timezone

from relcal import audit
from relcal.db import serialize_writers
from relcal.errors import Conflict
from relcal.times import fmt, fmt_minutes, fmt_window, require_aware
from releases.models import Team

from .. import metrics, privacy, selectors
from ..models import HOLDING, Booking, Environment

# Clocks of CI runners and laptops drift; a start this far in the past still counts as "now".
CLOCK_SKEW = timedelta(minutes=1)
# The name of the PostgreSQL exclusion constraint (migration 0003).
OVERLAP_CONSTRAINT = "booking_no_overlap"
# Far enough for any real booking, near enough that datetime arithmetic cannot overflow.
LONGEST = timedelta(days=366)
# What an audit event of a booking holds.
BOOKING_AUDIT = ("environment", "team", "release", "purpose", "start", "end", "state", "booked_by")
ENDING_AUDIT = ("state", "end", "ended_at")


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def check_times(*, start: datetime, end: datetime, now: datetime) -> tuple[datetime, datetime]:
    """Aware, in order, not in the past; returned in UTC so that lengths are elapsed time."""
    require_aware(start=start, end=end)
    # Subtracting two times of one zone (e.g. Europe/Berlin) gives wall-clock time, which is an
    # hour off across a DST change; in UTC it is the real length.
    start, end = utc(start), utc(end)
    if end <= start:
        raise ValidationError({"end": "The booking must end after it starts."})
    if end - start > LONGEST:
        raise ValidationError({"end": "A booking can last at most a year."})
    if start < now - CLOCK_SKEW:
        raise ValidationError(
            {"start": f"The start {fmt(start)} is in the past; pick a time from now on."}
        )
    return start, end


def check_rules(
    environment: Environment, start: datetime, end: datetime, *, now: datetime, notice=True
) -> None:
    """The environment's own rules: bookable, longest booking, minimum notice."""
    if not environment.bookable:
        raise ValidationError({"environment": f"{environment} is not open for booking."})
    limit = environment.max_booking_minutes
    length = (end - start) / timedelta(minutes=1)
    if limit is not None and length > limit:
        raise ValidationError(
            {
                "end": f"{environment} can be booked for at most {fmt_minutes(limit)} at a "
                f"time; this booking lasts {fmt_minutes(length)}."
            }
        )
    notice_minutes = environment.min_notice_minutes
    earliest = now + timedelta(minutes=notice_minutes)
    if notice and notice_minutes and start < earliest - CLOCK_SKEW:
        raise ValidationError(
            {
                "start": f"{environment} must be booked {fmt_minutes(notice_minutes)} ahead: "
                f"start at {fmt(earliest)} or later."
            }
        )


def check_maintenance(environment: Environment, start: datetime, end: datetime) -> None:
    window = selectors.maintenance_overlapping(environment, start, end)
    if window is not None:
        raise ValidationError(
            {
                "start": f"{environment} is down for maintenance from "
                f"{fmt_window(window.start, window.end)} ({window.reason}); pick a time "
                "outside it."
            }
        )


def check_team_limit(environment: Environment, team: Team, *, now: datetime) -> None:
    limit = environment.max_active_bookings_per_team
    if limit is None:
        return
    # Two bookings of one team at once could each see room for one more: queue them.
    serialize_writers(f"booking-team-limit:{environment.pk}:{team.pk}")
    held = Booking.objects.filter(
        environment=environment, team=team, state__in=HOLDING, end__gt=now
    ).count()
    if held >= limit:
        raise ValidationError(
            {
                "team": f"{team} already has {held} current or upcoming bookings of "
                f"{environment}, the most it allows per team ({limit}). Release or cancel one "
                "first."
            }
        )


def record_created(actor, action: str, obj: models.Model, fields=None) -> None:
    audit.record(actor=actor, action=action, obj=obj, after=audit.values(obj, fields))


def full_clean(obj: models.Model) -> None:
    # Field validation (lengths, blanks, choices) on every path, including SQLite, which would
    # store an oversized string without complaint. The services check the constraints, and the
    # related objects were handed to them as rows already (no query per foreign key).
    relations = [field.name for field in obj._meta.fields if field.is_relation]
    obj.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)


@contextmanager
def fields_renamed(renames: dict[str, str]) -> Iterator[None]:
    """Report errors about ``start``/``end`` under the field the caller actually gave."""
    try:
        yield
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        raise ValidationError(
            {renames.get(field, field): errors for field, errors in error.error_dict.items()}
        ) from error


# --- Conflicts -------------------------------------------------------------------------------


def booking_summary(booking: Booking) -> dict:
    # A conflict is answered to whoever asked, so a private team's holder is never named
    # (see environments.privacy): the slot is taken, by whom and why is the team's business.
    private = booking.team.is_private
    return {
        "id": booking.pk,
        "environment": booking.environment.slug,
        "team": privacy.PRIVATE_TEAM_SLUG if private else booking.team.slug,
        "purpose": privacy.PRIVATE_PURPOSE if private else booking.purpose,
        "start": booking.start,
        "end": booking.end,
        "booked_by": booking.booked_by.get_username()
        if booking.booked_by and not private
        else None,
    }


def held_by(holder: Booking) -> str:
    # Of a booking in progress (a pipeline's), what the one waiting wants to know is "until".
    to = "until" if holder.start <= timezone.now() < holder.end else "to"
    if holder.team.is_private:
        return (
            f"{holder.environment} is booked by {privacy.PRIVATE_TEAM_NAME.lower()} from "
            f"{fmt_window(holder.start, holder.end, to=to)}"
        )
    return (
        f"{holder.environment} is booked by {holder.team} for “{holder.purpose}” from "
        f"{fmt_window(holder.start, holder.end, to=to)}"
    )


def conflict(
    environment: Environment,
    holder: Booking,
    start: datetime,
    end: datetime,
    *,
    exclude: Booking | None = None,
) -> Conflict:
    """A Conflict naming ``holder`` and offering the next free slot as long as the one asked."""
    metrics.booking_conflict(environment)
    duration = end - start
    suggested_start = selectors.next_free_slot(environment, start, duration, exclude=exclude)
    if suggested_start is None:
        suggested = None
        offer = "no free slot of the same length was found soon after"
    else:
        suggested = {"start": suggested_start, "end": suggested_start + duration}
        offer = (
            f"the next free {fmt_minutes(duration / timedelta(minutes=1))} slot is "
            f"{fmt_window(suggested_start, suggested_start + duration)}"
        )
    return Conflict(
        f"{held_by(holder)}; {offer}.",
        details={"conflict": booking_summary(holder), "suggested": suggested},
    )


def is_overlap_violation(error: DatabaseError) -> bool:
    return isinstance(error, IntegrityError) and OVERLAP_CONSTRAINT in str(error)


def is_deadlock(error: DatabaseError) -> bool:
    # PostgreSQL checks an exclusion constraint after inserting the index entry, so two
    # transactions inserting clashing rows at once can each wait for the other; the deadlock
    # detector then aborts one of them (SQLSTATE 40P01) instead of reporting the clash.
    return getattr(error.__cause__, "sqlstate", None) == "40P01"


def save_holding(booking: Booking, *, on_overlap, **save_kwargs) -> Booking:
    """Save a holding booking. The service checked for overlaps already; on PostgreSQL a
    concurrent transaction may still have taken the slot since, and the exclusion constraint
    refuses the row: ``on_overlap()`` then builds the Conflict, re-reading the winner."""
    for _attempt in range(3):
        try:
            with transaction.atomic():  # a savepoint, so the outer transaction stays usable
                booking.save(**save_kwargs)
            return booking
        except DatabaseError as error:
            if is_overlap_violation(error):
                raise on_overlap() from error
            if not is_deadlock(error):
                raise
            # Our attempt is rolled back, so the other one goes on; trying again now waits for
            # it to finish and then meets its row as an ordinary overlap.
    raise on_overlap()


def lost_race(environment: Environment, start: datetime, end: datetime, **kwargs) -> Conflict:
    """The Conflict for a booking the exclusion constraint refused."""
    winner = selectors.holder(environment, start, end, **kwargs)
    if winner is None:  # taken and let go again in the meantime
        metrics.booking_conflict(environment)
        return Conflict(
            f"{environment} was booked by someone else at the same moment; try again.",
            details={"conflict": None, "suggested": None},
        )
    return conflict(environment, winner, start, end, **kwargs)
