"""Release reminders: a milestone coming up, some days before, to the release manager, the
owning team's members and the release's watchers. Delivery is ``relcal.notify``'s business."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from relcal import notify

from .models import Milestone, ReleaseState

MILESTONE_UPCOMING = "milestone.upcoming"
FINISHED = (ReleaseState.RELEASED, ReleaseState.ROLLED_BACK, ReleaseState.CANCELLED)


def milestone_offsets() -> list[timedelta]:
    """How long before a milestone its reminders go out (setting in days, default 3 and 1)."""
    days = getattr(settings, "RELCAL_MILESTONE_REMINDER_OFFSETS", (3, 1))
    return [timedelta(days=d) for d in days]


def _midnight(day: date) -> datetime:
    # An all-day milestone starts at midnight where Relcal runs (Milestone.sort_key agrees).
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _days(start: datetime, end: datetime) -> list[date]:
    local = timezone.get_current_timezone()
    first, last = start.astimezone(local).date(), end.astimezone(local).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def upcoming_milestones(now: datetime, since: datetime) -> Iterator[notify.Reminder]:
    for offset in milestone_offsets():
        # The milestone's moment lies in (since + offset, now + offset]: a range on ``at`` and an
        # ``IN`` on a handful of dates, never a scan of every milestone.
        start, end = since + offset, now + offset
        in_range = Q(at__gt=start, at__lte=end) | Q(date__in=_days(start, end))
        milestones = (
            Milestone.objects.filter(in_range, done=False)
            .exclude(release__state__in=FINISHED)
            .select_related("release__manager")
            .prefetch_related("release__team__members", "release__watchers")
        )
        for milestone in milestones:
            moment = milestone.sort_key
            if not start < moment <= end:
                continue
            for user in recipients(milestone):
                yield notify.Reminder(MILESTONE_UPCOMING, milestone, user, moment - offset)


def recipients(milestone: Milestone) -> list:
    release = milestone.release
    people = {user.pk: user for user in release.team.members.all()}
    people.update({user.pk: user for user in release.watchers.all()})
    if release.manager is not None:
        people[release.manager.pk] = release.manager
    return [user for user in people.values() if user.is_active and user.email]


def _milestone_message(milestone: Milestone, delivery) -> notify.Message:
    release = milestone.release
    moment = milestone.sort_key
    left = moment - delivery.due
    days = round(left / timedelta(days=1))
    when = (
        timezone.localtime(moment).strftime("%a %d %b %Y")
        if milestone.all_day
        else timezone.localtime(moment).strftime("%a %d %b %Y %H:%M %Z")
    )
    return notify.Message(
        subject=f"{milestone.label} for {release.name} in {days} day{'s' * (days != 1)}",
        lines=[
            f"{milestone.label} of {release.name} ({release.team.name}, version "
            f"{release.version}) is on {when}.",
            f"Go-live: {timezone.localtime(release.go_live).strftime('%a %d %b %Y %H:%M %Z')}.",
        ],
        link=release.get_absolute_url(),
        action="Open the release",
    )


def _milestone_still_due(milestone: Milestone, delivery) -> bool:
    # Done, or moved since the reminder was found (the new date has its own reminders).
    if milestone.done or milestone.release.state in FINISHED:
        return False
    return milestone.sort_key - delivery.due in milestone_offsets()


notify.register(
    MILESTONE_UPCOMING,
    model=Milestone,
    rule=upcoming_milestones,
    message=_milestone_message,
    still_due=_milestone_still_due,
)
