"""Booking reminders: starting soon, ending soon, expired automatically (not released by its
end), and a waitlisted slot granted. Each goes to whoever booked (or queued); if nobody is on
record, to the booking team's members. Delivery is ``reminders``'s business."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from reminders import registry

from .models import HOLDING, Booking, BookingState, WaitlistEntry, WaitlistState
from .services import booking_expire_due

STARTING = "booking.starting"
ENDING = "booking.ending"
EXPIRED = "booking.expired"
GRANTED = "waitlist.granted"
SOON = timedelta(minutes=15)


def _people(holder, who) -> tuple:
    return registry.reachable([who] if who is not None else holder.team.members.all())


def _bookings():
    return Booking.objects.select_related("environment", "booked_by", "team").prefetch_related(
        "team__members"
    )


def starting_soon(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    due = _bookings().filter(state=BookingState.CONFIRMED, start__gt=since + SOON)
    for booking in due.filter(start__lte=now + SOON):
        yield registry.Reminder(
            STARTING, booking, booking.start - SOON, _people(booking, booking.booked_by)
        )


def ending_soon(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    # Range on ``end`` per holding state: the (state, end) index answers it.
    due = _bookings().filter(state__in=HOLDING, end__gt=since + SOON, end__lte=now + SOON)
    for booking in due:
        yield registry.Reminder(
            ENDING, booking, booking.end - SOON, _people(booking, booking.booked_by)
        )


def expired(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    # Expiry is the Environments app's periodic job; the scan runs it first, so that what it
    # expires (and the waitlist entries it grants) is reminded in the same pass.
    booking_expire_due(now=now)
    due = _bookings().filter(state=BookingState.EXPIRED, end__gt=since, end__lte=now)
    for booking in due:
        yield registry.Reminder(EXPIRED, booking, booking.end, _people(booking, booking.booked_by))


def granted(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    entries = (
        WaitlistEntry.objects.filter(
            state=WaitlistState.GRANTED, granted_at__gt=since, granted_at__lte=now
        )
        .select_related("environment", "requested_by", "team", "granted_booking")
        .prefetch_related("team__members")
    )
    for entry in entries:
        yield registry.Reminder(
            GRANTED, entry, entry.granted_at, _people(entry, entry.requested_by)
        )


def _when(start: datetime, end: datetime) -> str:
    fmt = "%a %d %b %H:%M"
    return (
        f"{timezone.localtime(start).strftime(fmt)} to "
        f"{timezone.localtime(end).strftime(fmt)} {timezone.localtime(end).strftime('%Z')}"
    )


def _whose(holder, delivery) -> str:
    # A person reads "Your booking"; a team channel (a webhook) reads whose it is.
    return "Your" if delivery.recipient_id else f"The {holder.team.name}"


def _booking_message(kind: str):
    words = {
        STARTING: ("{whose} booking of {env} starts in 15 minutes", "Open the booking"),
        ENDING: ("{whose} booking of {env} ends in 15 minutes", "Extend or release it"),
        EXPIRED: ("{whose} booking of {env} ran past its end and was released", "Book again"),
    }
    subject, action = words[kind]

    def message(booking: Booking, delivery) -> registry.Message:
        lines = [f"{booking.purpose} ({booking.team.name}): {_when(booking.start, booking.end)}."]
        if kind == EXPIRED:
            lines.append("It was not released by its end, so Relcal released it.")
        return registry.Message(
            subject=subject.format(whose=_whose(booking, delivery), env=booking.environment.name),
            lines=lines,
            link=f"{reverse('environments:my-bookings')}#booking-{booking.pk}",
            action=action,
        )

    return message


def _booking_still_due(kind: str):
    def still_due(booking: Booking, delivery) -> bool:
        if kind == EXPIRED:
            return booking.state == BookingState.EXPIRED
        moment = booking.start if kind == STARTING else booking.end
        # Cancelled, released, or moved (extended): the new end has its own reminder.
        return booking.is_holding and moment - SOON == delivery.due

    return still_due


def _granted_message(entry: WaitlistEntry, delivery) -> registry.Message:
    return registry.Message(
        subject=f"{_whose(entry, delivery)} waitlisted slot on {entry.environment.name} is "
        "now booked",
        lines=[
            f"{entry.purpose} ({entry.team.name}): {_when(entry.start, entry.end)}.",
            "The slot came free and Relcal booked it for your team.",
        ],
        link=reverse("environments:my-bookings"),
        action="Open my bookings",
    )


def _team(holder) -> list[int]:
    return [holder.team_id]


for _kind, _label, _rule in (
    (STARTING, "My booking starts soon", starting_soon),
    (ENDING, "My booking ends soon", ending_soon),
    (EXPIRED, "My booking was released at its end (overdue)", expired),
):
    registry.register(
        _kind,
        label=_label,
        model=Booking,
        rule=_rule,
        message=_booking_message(_kind),
        still_due=_booking_still_due(_kind),
        teams=_team,
    )
# After ``expired``: the expiry it runs may grant waitlist entries.
registry.register(
    GRANTED,
    label="A slot I waitlisted is granted",
    model=WaitlistEntry,
    rule=granted,
    message=_granted_message,
    teams=_team,
)
