"""The waitlist: a team queues for a taken slot, and the first in line whose slot is free again
gets a booking when time frees up (cancel, early release, expiry, a shortened booking)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from relcal import audit
from relcal.db import locked
from relcal.errors import Conflict
from relcal.times import fmt_window
from releases.models import Team

from .. import permissions as perms
from .. import selectors
from ..models import Booking, BookingState, Environment, WaitlistEntry, WaitlistState
from . import _rules as rules

# Entries looked at per freed slot; a queue longer than this waits for the next one.
_PROMOTE_AT_MOST = 100
GRANTED = WaitlistState.GRANTED
GRANT_AUDIT = ("state", "granted_at", "granted_booking")


@transaction.atomic
def waitlist_join(
    *,
    actor,
    environment: Environment,
    team: Team,
    start: datetime,
    end: datetime,
    purpose: str,
) -> WaitlistEntry:
    """Queue ``team`` for ``[start, end)``, which another booking holds now."""
    perms.require(
        perms.can_book_for(actor, team),
        f"Only members of {team} (and release managers) can queue for {team}.",
    )
    now = timezone.now()
    start, end = rules.check_times(start=start, end=end, now=now)
    # Minimum notice does not apply: nobody knows when the slot will free up.
    rules.check_rules(environment, start, end, now=now, notice=False)
    entry = WaitlistEntry(
        environment=environment,
        team=team,
        start=start,
        end=end,
        purpose=purpose,
        requested_by=actor,
        created_at=now,
    )
    rules.full_clean(entry)
    # A slot in maintenance would never be granted.
    rules.check_maintenance(environment, start, end)
    if selectors.holder(environment, start, end) is None:
        raise ValidationError(
            {
                "start": f"{environment} is free from {fmt_window(start, end)}: book it "
                "instead of joining the waitlist."
            }
        )
    if WaitlistEntry.objects.filter(
        environment=environment, team=team, start=start, end=end, state=WaitlistState.WAITING
    ).exists():
        raise ValidationError({"start": f"{team} is already on the waitlist for this slot."})
    entry.save()
    rules.record_created(actor, "waitlist.join", entry)
    return entry


@transaction.atomic
def waitlist_withdraw(*, actor, entry: WaitlistEntry) -> WaitlistEntry:
    entry = locked(WaitlistEntry.objects.select_related("team"), entry.pk)
    perms.require(
        perms.can_withdraw_waitlist(actor, entry),
        f"Only members of {entry.team} (and release managers) can withdraw this entry.",
    )
    if entry.state != WaitlistState.WAITING:
        # A 409 like a booking's: granted or withdrawn, maybe by a concurrent request just now.
        raise Conflict(
            f"This entry is {entry.get_state_display().lower()}, not waiting.",
            details={"state": entry.state},
        )
    entry.state = WaitlistState.WITHDRAWN
    entry.save(update_fields=["state"])
    audit.record_change(
        actor, "waitlist.withdraw", entry, {"state": WaitlistState.WAITING}, ["state"]
    )
    return entry


def promote_waitlist(environment: Environment, *, now: datetime | None = None) -> list:
    """Grant waiting entries of ``environment`` whose slot is free now, first come first served;
    returns them, for ``record_grants``.

    Called by every service that frees time, inside its transaction, once the time is free and
    before the service records anything: claiming an entry and inserting its booking wait for
    row locks, which must come before the audit chain lock (``relcal.db``). The service then
    records its own event and, after it, the grants (``record_grants``). The booking is made as
    the person who queued, for what is still ahead of the requested slot; minimum notice and the
    team limit do not apply (they were in line already), overlaps and maintenance do. Each
    grant is stored on the entry (``granted_at``, ``granted_booking``) for the reminders.
    """
    now = now or timezone.now()
    if not environment.bookable:
        return []
    waiting = WaitlistEntry.objects.filter(
        environment=environment, state=WaitlistState.WAITING, end__gt=now
    ).order_by("created_at", "id")[:_PROMOTE_AT_MOST]
    granted = []
    for entry in waiting:
        start = max(entry.start, now)
        if selectors.holder(environment, start, entry.end) is not None:
            continue
        if selectors.maintenance_overlapping(environment, start, entry.end) is not None:
            continue
        if _grant(entry, start=start, now=now):
            granted.append(entry)
    return granted


def _grant(entry: WaitlistEntry, *, start: datetime, now: datetime) -> bool:
    try:
        with transaction.atomic():  # a savepoint: a lost race undoes the claim too
            # Claim first, so that two services freeing time at once cannot both grant it.
            claimed = WaitlistEntry.objects.filter(pk=entry.pk, state=WaitlistState.WAITING).update(
                state=GRANTED, granted_at=now
            )
            if not claimed:
                return False
            booking = Booking.objects.create(
                environment_id=entry.environment_id,
                team_id=entry.team_id,
                purpose=entry.purpose,
                start=start,
                end=entry.end,
                booked_by_id=entry.requested_by_id,
                state=BookingState.ACTIVE if start <= now else BookingState.CONFIRMED,
            )
            WaitlistEntry.objects.filter(pk=entry.pk).update(granted_booking=booking)
            entry.state, entry.granted_at, entry.granted_booking = GRANTED, now, booking
    except DatabaseError as error:
        if not (rules.is_overlap_violation(error) or rules.is_deadlock(error)):
            raise
        return False  # someone booked it in the meantime; the entry keeps waiting
    return True


def record_grants(granted: list[WaitlistEntry]) -> None:
    """The audit events of what ``promote_waitlist`` granted: the booking (made by whoever
    freed the slot inside a request, or by the expiry task) and the entry's grant."""
    for entry in granted:
        rules.record_created(None, "booking.create", entry.granted_booking, rules.BOOKING_AUDIT)
        audit.record_change(
            None, "waitlist.grant", entry, {"state": WaitlistState.WAITING}, GRANT_AUDIT
        )
