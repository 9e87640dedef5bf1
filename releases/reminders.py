"""Release reminders: a milestone coming up (some days before, to the release manager, the
owning team's members and the release's watchers), a release changing state (to its watchers
and manager, but not to whoever moved it) and a freeze window starting (a day before, to the
watchers and managers of the active releases it freezes). Delivery is ``reminders``'s
business."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from reminders import registry, tasks

from .models import (
    FreezeOrigin,
    FreezeWindow,
    Milestone,
    Release,
    ReleaseState,
    ReleaseTransition,
    Team,
)
from .signals import transitioned

MILESTONE_UPCOMING = "milestone.upcoming"
STATE_CHANGED = "release.state_changed"
FREEZE_STARTING = "freeze.starting"
FINISHED = (ReleaseState.RELEASED, ReleaseState.ROLLED_BACK, ReleaseState.CANCELLED)
FORMAT = "%a %d %b %Y %H:%M %Z"


def milestone_offsets() -> list[timedelta]:
    """How long before a milestone its reminders go out (setting in days, default 3 and 1)."""
    days = getattr(settings, "RELCAL_MILESTONE_REMINDER_OFFSETS", (3, 1))
    return [timedelta(days=d) for d in days]


def freeze_notice() -> timedelta:
    """How long before a freeze window starts its reminder goes out (setting in hours)."""
    return timedelta(hours=getattr(settings, "RELCAL_FREEZE_REMINDER_HOURS", 24))


def _days(start: datetime, end: datetime) -> list[date]:
    local = timezone.get_current_timezone()
    first, last = start.astimezone(local).date(), end.astimezone(local).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime(FORMAT)


def _team(obj) -> list[int]:
    return [obj.release.team_id]


# --- A milestone coming up -----------------------------------------------------------------------


def upcoming_milestones(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    for offset in milestone_offsets():
        # The milestone's moment lies in (since + offset, now + offset]: a range on ``at`` and an
        # ``IN`` on a handful of dates, never a scan of every milestone.
        start, end = since + offset, now + offset
        in_range = Q(at__gt=start, at__lte=end) | Q(date__in=_days(start, end))
        milestones = (
            Milestone.objects.filter(in_range, done=False)
            .exclude(release__state__in=FINISHED)
            .select_related("release__manager", "release__team")
            .prefetch_related("release__team__members", "release__watchers")
        )
        for milestone in milestones:
            moment = milestone.sort_key
            if start < moment <= end:
                yield registry.Reminder(
                    MILESTONE_UPCOMING, milestone, moment - offset, recipients(milestone.release)
                )


def recipients(release: Release) -> tuple:
    """The release manager, the owning team's members and the watchers."""
    return registry.reachable(
        [*release.team.members.all(), *release.watchers.all(), release.manager]
    )


def _milestone_message(milestone: Milestone, delivery) -> registry.Message:
    release = milestone.release
    moment = milestone.sort_key
    days = round((moment - delivery.due) / timedelta(days=1))
    when = (
        timezone.localtime(moment).strftime("%a %d %b %Y") if milestone.all_day else _local(moment)
    )
    return registry.Message(
        subject=f"{milestone.label} for {release.name} in {days} day{'s' * (days != 1)}",
        lines=[
            f"{milestone.label} of {release.name} ({release.team.name}, version "
            f"{release.version}) is on {when}.",
            f"Go-live: {_local(release.go_live)}.",
        ],
        link=release.get_absolute_url(),
        action="Open the release",
    )


def _milestone_still_due(milestone: Milestone, delivery) -> bool:
    # Done, or moved since the reminder was found (the new date has its own reminders).
    if milestone.done or milestone.release.state in FINISHED:
        return False
    # Compared as the rule computes it (wall-clock days), not as elapsed time: across a
    # daylight-saving change 3 days before local midnight is 71 or 73 hours.
    return any(milestone.sort_key - offset == delivery.due for offset in milestone_offsets())


# --- A release changing state --------------------------------------------------------------------


def state_changes(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    transitions = (
        ReleaseTransition.objects.filter(at__gt=since, at__lte=now)
        .exclude(from_state=F("to_state"))  # the record of its creation
        .select_related("release__manager", "release__team", "actor")
        .prefetch_related("release__watchers")
    )
    for transition in transitions:
        release = transition.release
        people = [*release.watchers.all(), release.manager]
        yield registry.Reminder(
            STATE_CHANGED,
            transition,
            transition.at,
            registry.reachable(u for u in people if u is None or u.pk != transition.actor_id),
        )


def _state_message(transition: ReleaseTransition, delivery) -> registry.Message:
    release = transition.release
    moved = f"{transition.get_from_state_display()} to {transition.get_to_state_display()}"
    who = transition.actor.get_full_name() or transition.actor.username if transition.actor else ""
    lines = [
        f"{release.name} ({release.team.name}, version {release.version}) moved from {moved}"
        + (f", by {who}." if who else "."),
    ]
    if transition.reason:
        lines.append(f"Reason: {transition.reason}")
    lines.append(f"Go-live: {_local(release.go_live)}.")
    return registry.Message(
        subject=f"{release.name} is now {transition.get_to_state_display().lower()}",
        lines=lines,
        link=release.get_absolute_url(),
        action="Open the release",
    )


# --- A freeze window starting --------------------------------------------------------------------


def _frozen_releases(freeze: FreezeWindow):
    active = Release.objects.exclude(state__in=FINISHED).filter(go_live__gte=freeze.start)
    return active if freeze.team_id is None else active.filter(team_id=freeze.team_id)


def _freeze_due(freeze: FreezeWindow) -> datetime:
    # The notice before its start; a freeze set at shorter notice, as soon as it is set.
    return max(freeze.start - freeze_notice(), freeze.created_at)


def freezes_starting(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    notice = freeze_notice()
    window = Q(start__gt=since + notice, start__lte=now + notice)
    short_notice = Q(created_at__gt=since, created_at__lte=now, start__lte=now + notice)
    # Error-budget freezes start when they are set: reliability's "budget.exhausted" says so.
    # A freeze that has started is never announced, whatever its created_at says (rows older
    # than the column were once given the time of the upgrade).
    freezes = (
        FreezeWindow.objects.filter(window | short_notice)
        .filter(start__gt=now)
        .exclude(origin=FreezeOrigin.ERROR_BUDGET)
    )
    for freeze in freezes:  # one or two at most
        due = _freeze_due(freeze)
        if not since < due <= now:
            continue
        releases = _frozen_releases(freeze).select_related("manager").prefetch_related("watchers")
        people = [u for r in releases for u in (*r.watchers.all(), r.manager) if u is not None]
        yield registry.Reminder(FREEZE_STARTING, freeze, due, registry.reachable(people))


def _freeze_teams(freeze: FreezeWindow) -> list[int]:
    if freeze.team_id is not None:
        return [freeze.team_id]
    return list(Team.objects.values_list("pk", flat=True))  # a freeze of every team


def _freeze_message(freeze: FreezeWindow, delivery) -> registry.Message:
    lines = [
        f"{freeze.name} freezes {freeze.scope_label} from {_local(freeze.start)} to "
        f"{_local(freeze.end)}: no go-live may be scheduled in it."
    ]
    if freeze.reason:
        lines.append(f"Reason: {freeze.reason}")
    return registry.Message(
        subject=f"Freeze starts {_local(freeze.start)}: {freeze.name}",
        lines=lines,
        link=reverse("releases:freezes"),
        action="See the freeze windows",
    )


def _freeze_still_due(freeze: FreezeWindow, delivery) -> bool:
    if freeze.start <= timezone.now():
        return False  # started while the message waited: no "freeze starts" after the fact
    return _freeze_due(freeze) == delivery.due  # moved: the new start has its own


registry.register(
    MILESTONE_UPCOMING,
    label="A milestone is coming up",
    model=Milestone,
    rule=upcoming_milestones,
    message=_milestone_message,
    still_due=_milestone_still_due,
    teams=_team,
)
registry.register(
    STATE_CHANGED,
    label="A release I watch or manage changes state",
    model=ReleaseTransition,
    rule=state_changes,
    message=_state_message,
    teams=_team,
)
registry.register(
    FREEZE_STARTING,
    label="A freeze window starts",
    model=FreezeWindow,
    rule=freezes_starting,
    message=_freeze_message,
    still_due=_freeze_still_due,
    teams=_freeze_teams,
)


def _scan_soon(sender, **kwargs) -> None:
    # Watchers hear of a state change, and a frozen scope asks for sign-offs, right away: scan
    # after commit rather than within a minute.
    tasks.scan.delay()


transitioned.connect(_scan_soon, dispatch_uid="releases-scan-on-transition")
