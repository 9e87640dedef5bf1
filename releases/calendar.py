"""Release events for calendars and feeds: go-lives with their deployment window, milestones and
freeze windows (see ``calendars.sources`` for the contract every app's calendar module keeps).

Each event lists what a subscriber needs at a glance: the summary says team, release and kind
("Payments 4.2 — code freeze"), the description says the state and links to the release page.
A go/no-go milestone still to be held also carries the release's readiness verdict and what
blocks it ("Readiness: NO-GO — Required checks: integration-tests failed on 4.3.0-rc.2"), from
the gates evaluated in bulk (``releases.gates``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, DateTimeField, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from calendars.ical import CANCELLED, CONFIRMED, TENTATIVE, FeedEvent
from calendars.sources import CANCELLED_KEPT, FeedQuery, Fingerprint, earliest, latest

from . import gates
from .models import (
    DeploymentStrategy,
    FreezeOrigin,
    FreezeWindow,
    Milestone,
    MilestoneKind,
    Release,
    ReleaseState,
    ReleaseTransition,
)
from .selectors import visible_freeze_windows, visible_release_q

GO_LIVE = "go_live"
MILESTONE = "milestone"
FREEZE = "freeze"
KINDS = {GO_LIVE: "Go-live", MILESTONE: "Milestone", FREEZE: "Freeze window"}

# A milestone at a set time (a go/no-go meeting) is shown as a slot of this length.
TIMED_MILESTONE = timedelta(minutes=30)
UNCONFIRMED = (ReleaseState.DRAFT, ReleaseState.PLANNED)
# Releases that went out: past a feed's horizon (``FeedQuery.since``) they leave it, with their
# milestones. A release still to ship stays however late it is: that is news, not history.
SHIPPED = (ReleaseState.RELEASED, ReleaseState.ROLLED_BACK)
# A go-live without a window end is shown as one hour.
DEFAULT_WINDOW = timedelta(hours=1)
# Plain dicts: get_FOO_display() costs a translation lookup per call, 10,000 times per feed.
STATE_LABELS = {value: str(label) for value, label in ReleaseState.choices}
STRATEGY_LABELS = {value: str(label) for value, label in DeploymentStrategy.choices}
MILESTONE_LABELS = {value: str(label) for value, label in MilestoneKind.choices}
# The go/no-go milestones that show the release's verdict: not held yet, of a release on its
# way to go live (as on the go/no-go board).
DECIDING = Q(kind=MilestoneKind.GO_NO_GO, done=False, release__state__in=gates.UPCOMING)


def status_for(state: str) -> str:
    if state == ReleaseState.CANCELLED:
        return CANCELLED
    return TENTATIVE if state in UNCONFIRMED else CONFIRMED


def depends_on() -> list[str]:
    """The modules beyond this app whose rows these events read: the readiness gates' (a
    go/no-go shows its verdict). Feeds drop their remembered answers on a write to any model of
    their apps (``calendars.freshness``)."""
    return [gate.evaluate.__module__ for gate in gates.gates()]


# --- Which rows -------------------------------------------------------------------------------


def _releases(
    query: FeedQuery, *, keep_expired: bool = False, past: datetime | None = None
) -> QuerySet[Release]:
    """The releases the query selects: without those cancelled 30 days ago (unless
    ``keep_expired``) and those shipped before ``past`` (the feed's horizon unless given)."""
    user = query.user
    releases = Release.objects.filter(visible_release_q(user))
    if query.teams is not None:
        releases = releases.filter(team__slug__in=query.teams)
    if query.releases is not None:
        releases = releases.filter(pk__in=query.releases)
    if query.mine:
        if not getattr(user, "is_authenticated", False):
            return releases.none()
        watched = Release.watchers.through.objects.filter(user=user).values("release_id")
        releases = releases.filter(Q(manager=user) | Q(pk__in=watched))
    if not keep_expired:
        releases = releases.exclude(state=ReleaseState.CANCELLED, pk__in=_expired(query))
        past = past or query.since
        if past is not None:
            releases = releases.exclude(_shipped_before(past))
    return releases


def _shipped_before(moment: datetime) -> Q:
    return Q(state__in=SHIPPED) & _ended_before(moment)


def _ended_before(moment: datetime) -> Q:
    """Releases whose deployment window ended before ``moment``."""
    return Q(window_end__lt=moment) | Q(
        window_end__isnull=True, go_live__lt=moment - DEFAULT_WINDOW
    )


def _not_shipped_before(moment: datetime) -> Q:
    """The complement of shipped and ended before ``moment`` (``window_end`` may be NULL)."""
    return (
        ~Q(state__in=SHIPPED)
        | Q(window_end__gte=moment)
        | Q(window_end__isnull=True, go_live__gte=moment - DEFAULT_WINDOW)
    )


# When a release's deployment window ends.
WINDOW_END = Coalesce("window_end", F("go_live") + DEFAULT_WINDOW, output_field=DateTimeField())


def _expired(query: FeedQuery) -> QuerySet[ReleaseTransition]:
    """Cancellations older than the 30 days a cancelled release stays in calendars."""
    return ReleaseTransition.objects.filter(
        to_state=ReleaseState.CANCELLED, at__lt=query.cancelled_cutoff
    ).values("release_id")


def _go_lives(query: FeedQuery, *, past: datetime | None = None) -> QuerySet[Release]:
    releases = _releases(query, past=past)
    if query.start is not None:
        # The window is [go_live, window_end), or one hour when window_end is empty.
        releases = releases.filter(
            Q(window_end__gt=query.start)
            | Q(window_end__isnull=True, go_live__gt=query.start - timedelta(hours=1))
        )
    if query.end is not None:
        releases = releases.filter(go_live__lt=query.end)
    return releases


def _milestones(query: FeedQuery) -> QuerySet[Milestone]:
    # A go-live milestone is the release's go-live, shown once, with its deployment window.
    milestones = Milestone.objects.filter(release__in=_releases(query).values("pk")).exclude(
        kind=MilestoneKind.GO_LIVE
    )
    if query.start is not None:
        first_day = timezone.localdate(query.start)
        milestones = milestones.filter(
            Q(date__gte=first_day) | Q(at__gt=query.start - TIMED_MILESTONE)
        )
    if query.end is not None:
        milestones = milestones.filter(
            Q(date__lt=timezone.localdate(query.end)) | Q(at__lt=query.end)
        )
    return milestones


def _freezes(query: FeedQuery, *, past: datetime | None = None) -> QuerySet[FreezeWindow]:
    # Freezes belong to no release: a feed of chosen releases or of "my releases" leaves them
    # out; a team filter keeps the freezes of those teams and those for every team.
    if query.releases is not None or query.mine:
        return FreezeWindow.objects.none()
    freezes = visible_freeze_windows(query.user, FreezeWindow.objects.all())
    if query.teams is not None:
        freezes = freezes.filter(Q(team__isnull=True) | Q(team__slug__in=query.teams))
    if query.start is not None:
        freezes = freezes.filter(end__gt=query.start)
    if query.end is not None:
        freezes = freezes.filter(start__lt=query.end)
    past = past or query.since
    if past is not None:
        freezes = freezes.filter(end__gte=past)
    return freezes


# --- Fingerprint (for ETag and Last-Modified, without building events) -------------------------


def _summary(queryset: QuerySet, *extra: str, kept: Q | None = None, **aggregates) -> dict:
    """Count, sums and latest changes of the ``kept`` rows of ``queryset`` (all by default)."""
    return queryset.aggregate(
        count=Count("pk", filter=kept),
        ids=Sum("pk", filter=kept),
        sequence=Sum("sequence", filter=kept),
        updated=Max("updated_at", filter=kept),
        **{name: Max(name, filter=kept) for name in extra},
        **aggregates,
    )


def _horizon(query: FeedQuery) -> tuple[datetime | None, Q | None, Q | None]:
    """For a feed with a horizon: how far back its fingerprint reads, and which of those rows
    are kept, for releases and for freezes. The rows that left within one more horizon tell
    when the latest left (Last-Modified; the counts in the ETag change anyway), in the same
    aggregate; older departures are older than any copy a client revalidates by date."""
    if query.since is None:
        return None, None, None
    since = query.since
    return since - (query.now - since), _not_shipped_before(since), Q(end__gte=since)


def _left_at(query: FeedQuery, ended: datetime | None) -> datetime | None:
    """When an event that ended at ``ended`` left the feed, past its horizon (or will)."""
    return ended + (query.now - query.since) if ended is not None else None


def fingerprint(query: FeedQuery) -> Fingerprint:
    parts: list = []
    moments: list[datetime | None] = []
    until: list[datetime | None] = []
    if query.wants(GO_LIVE, MILESTONE):
        # Milestone events show their release's name, team and state too.
        reach, kept, _ = _horizon(query)
        releases = _summary(
            _go_lives(query, past=reach),
            "team__updated_at",
            kept=kept,
            **(
                {
                    "passed": Max(WINDOW_END, filter=_shipped_before(query.since)),
                    # The next to leave: when time alone changes the feed (``until``).
                    "leaving": Min(WINDOW_END, filter=kept & Q(state__in=SHIPPED)),
                }
                if kept
                else {}
            ),
        )
        if kept:
            # A shipped release leaving past the horizon is a change too.
            moments.append(_left_at(query, releases["passed"]))
            until.append(_left_at(query, releases["leaving"]))
        cutoff = query.cancelled_cutoff
        drops = (
            ReleaseTransition.objects.filter(
                release__in=_releases(query, keep_expired=True).values("pk")
            )
            .filter(to_state=ReleaseState.CANCELLED)
            .aggregate(
                # The latest cancellation that left, and the next to leave (``until``).
                left=Max("at", filter=Q(at__lt=cutoff)),
                next=Min("at", filter=Q(at__gte=cutoff)),
            )
        )
        last_drop = drops["left"]
        # A release leaving the calendar 30 days after its cancellation is a change too.
        left_at = last_drop + CANCELLED_KEPT if last_drop else None
        parts += [tuple(releases.values()), left_at]
        moments += [releases["updated"], releases["team__updated_at"], left_at]
        until.append(drops["next"] + CANCELLED_KEPT if drops["next"] else None)
    if query.wants(MILESTONE):
        milestones = _summary(_milestones(query), deciding=Count("pk", filter=DECIDING))
        parts.append(tuple(milestones.values()))
        moments.append(milestones["updated"])
        if milestones["deciding"]:
            # The verdict on a go/no-go follows what every gate reads (check reports, builds,
            # waivers, sign-offs, bookings…): each gate's fingerprint aggregates those rows for
            # the releases deciding, without evaluating a gate (``releases.gates.fingerprint``).
            deciding = _milestones(query).filter(DECIDING).values("release_id")
            verdicts, changed = gates.fingerprint(deciding)
            parts.append(verdicts)
            moments.append(changed)
    if query.wants(FREEZE):
        reach, _, kept = _horizon(query)
        freezes = _summary(
            _freezes(query, past=reach),
            "team__updated_at",
            kept=kept,
            **(
                {
                    "passed": Max("end", filter=Q(end__lt=query.since)),
                    "leaving": Min("end", filter=kept),
                }
                if kept
                else {}
            ),
        )
        parts.append(tuple(freezes.values()))
        moments += [freezes["updated"], freezes["team__updated_at"]]
        if kept:
            moments.append(_left_at(query, freezes["passed"]))
            until.append(_left_at(query, freezes["leaving"]))
    return Fingerprint(parts=tuple(parts), last_modified=latest(*moments), until=earliest(*until))


# --- Events -----------------------------------------------------------------------------------


def release_label(release: Release) -> str:
    """ "Payments 4.2": the release's name, with the version and team when the name lacks them."""
    label = release.name
    if release.version and release.version not in label:
        label = f"{label} {release.version}"
    if release.team.name.casefold() not in label.casefold():
        label = f"{release.team.name} · {label}"
    return label


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _summary_line(release: Release, what: str) -> str:
    summary = f"{release_label(release)} — {what}"
    return f"Cancelled: {summary}" if release.state == ReleaseState.CANCELLED else summary


def _release_facts(release: Release) -> list[str]:
    return [
        f"State: {STATE_LABELS[release.state]}",
        f"Team: {release.team.name}",
    ]


_PK = 987654321


def _release_paths():
    """``pk -> release page path``: ``reverse()`` once, not once per event (10,000 of them)."""
    pattern = reverse("releases:detail", args=[_PK])
    return lambda pk: pattern.replace(str(_PK), str(pk))


def go_live_event(release: Release, path=None) -> FeedEvent:
    start, end = release.window
    url = (path or _release_paths())(release.pk)
    return FeedEvent(
        kind=GO_LIVE,
        pk=release.pk,
        summary=_summary_line(release, "go-live"),
        start=start,
        end=end,
        updated=release.updated_at,
        sequence=release.sequence,
        status=status_for(release.state),
        description="\n".join(
            [
                *_release_facts(release),
                f"Strategy: {STRATEGY_LABELS[release.strategy]}",
                "",
                f"Release page: {settings.SITE_URL}{url}",
            ]
        ),
        path=url,
        team=release.team.name,
        team_slug=release.team.slug,
        color=release.team.color,
        categories=(release.team.name, KINDS[GO_LIVE]),
    )


def _shows_verdict(milestone: Milestone) -> bool:
    # ``DECIDING`` in Python, for milestones loaded already.
    return (
        milestone.kind == MilestoneKind.GO_NO_GO
        and not milestone.done
        and milestone.release.state in gates.UPCOMING
    )


def readiness_line(readiness: gates.Readiness) -> str:
    """ "Readiness: NO-GO — Required checks: integration-tests failed on 4.3.0-rc.2"."""
    line = f"Readiness: {readiness.verdict}"
    blocking = readiness.blocking()
    if blocking:
        line += " — " + "; ".join(f"{row.gate.label}: {row.result.reason}" for row in blocking)
    return line


def readiness_lines(releases: Iterable[Release], query: FeedQuery) -> dict[int, str]:
    """release id → its readiness line, as ``query.user`` may read it (gates in bulk)."""
    verdicts = gates.evaluate(list(releases), user=query.user, now=query.now)
    return {pk: readiness_line(readiness) for pk, readiness in verdicts.items()}


def milestone_event(milestone: Milestone, path=None, readiness: str = "") -> FeedEvent:
    release = milestone.release
    label = milestone.title or _lower_first(MILESTONE_LABELS[milestone.kind])
    if milestone.kind == MilestoneKind.CUSTOM or not milestone.title:
        what = label
    else:
        what = f"{_lower_first(MILESTONE_LABELS[milestone.kind])}: {milestone.title}"
    if milestone.done:
        what += " (done)"
    if milestone.at is not None:
        start, end = milestone.at, milestone.at + TIMED_MILESTONE
    else:
        start, end = milestone.date, milestone.date + timedelta(days=1)
    url = f"{(path or _release_paths())(release.pk)}#milestones"
    return FeedEvent(
        kind=MILESTONE,
        pk=milestone.pk,
        summary=_summary_line(release, what),
        start=start,
        end=end,
        # The event shows the release's name and state as well: either changing is a change.
        updated=max(milestone.updated_at, release.updated_at),
        sequence=milestone.sequence + release.sequence,
        status=status_for(release.state),
        description="\n".join(
            [
                f"{MILESTONE_LABELS[milestone.kind]} of {release_label(release)}",
                f"Done: {'yes' if milestone.done else 'no'}",
                *([readiness] if readiness else []),
                *_release_facts(release),
                "",
                f"Release page: {settings.SITE_URL}{url}",
            ]
        ),
        path=url,
        team=release.team.name,
        team_slug=release.team.slug,
        color=release.team.color,
        categories=(release.team.name, KINDS[MILESTONE]),
    )


def freeze_event(freeze: FreezeWindow) -> FeedEvent:
    scope = freeze.team.name if freeze.team_id else "All teams"
    url = reverse("releases:freezes")
    lines = [f"No go-live may be scheduled in this window ({freeze.scope_label})."]
    if freeze.origin == FreezeOrigin.ERROR_BUDGET:
        lines = [
            f"Error-budget freeze ({freeze.scope_label}), set by Relcal while a service's error "
            "budget is spent: releases whose scope is only fixes and security items still ship. "
            "It ends when the budget is back above the team's at-risk threshold."
        ]
    if freeze.reason:
        lines += ["", freeze.reason]
    lines += ["", f"Freeze windows: {settings.SITE_URL}{url}"]
    return FeedEvent(
        kind=FREEZE,
        pk=freeze.pk,
        summary=f"{scope} — freeze: {freeze.name}",
        start=freeze.start,
        end=freeze.end,
        updated=freeze.updated_at,
        sequence=freeze.sequence,
        status=CONFIRMED,
        description="\n".join(lines),
        path=url,
        team=freeze.team.name if freeze.team_id else "",
        team_slug=freeze.team.slug if freeze.team_id else "",
        color=freeze.team.color if freeze.team_id else "",
        categories=(scope, KINDS[FREEZE]),
    )


def events(query: FeedQuery) -> Iterator[FeedEvent]:
    path = _release_paths()
    if query.wants(GO_LIVE):
        # Row by row: a feed holds its events, not also every model instance behind them.
        for release in _go_lives(query).select_related("team").iterator(chunk_size=2_000):
            yield go_live_event(release, path)
    if query.wants(MILESTONE):
        milestones = list(_milestones(query).select_related("release__team"))
        deciding = {m.release_id: m.release for m in milestones if _shows_verdict(m)}
        lines = readiness_lines(deciding.values(), query)
        for milestone in milestones:
            readiness = lines[milestone.release_id] if _shows_verdict(milestone) else ""
            yield milestone_event(milestone, path, readiness)
    if query.wants(FREEZE):
        for freeze in _freezes(query).select_related("team").iterator(chunk_size=2_000):
            yield freeze_event(freeze)
