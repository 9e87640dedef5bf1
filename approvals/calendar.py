"""Sign-off deadlines for calendars and feeds (see ``calendars.sources`` for the contract).

A release awaiting sign-off (scope frozen or testing) gets one event: at its go/no-go milestone,
or, without one, in the half hour before its go-live. The description lists the roles still
missing (or holding stale approvals, or a rejection), so an approver sees in their calendar what
is asked of them. Releases follow their own visibility; the personal feed holds the deadlines of
releases the user manages or watches and those waiting for the user's own sign-off.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone

from calendars.ical import CONFIRMED, FeedEvent
from calendars.sources import FeedQuery, Fingerprint, latest
from releases.calendar import STATE_LABELS, TIMED_MILESTONE, release_label
from releases.models import Milestone, MilestoneKind, Release, ReleaseDependency, ScopeItem
from releases.selectors import visible_release_q

from .models import ReleaseRequirement, SignOff
from .readiness.models import ReleaseCandidate
from .selectors import AWAITING, approval_status, pending_for, with_approval_data

SIGNOFF = "signoff_deadline"
KINDS = {SIGNOFF: "Sign-off deadline"}


# --- Which rows -------------------------------------------------------------------------------


def _releases(query: FeedQuery) -> QuerySet[Release]:
    user = query.user
    releases = Release.objects.filter(visible_release_q(user), state__in=AWAITING)
    if query.teams is not None:
        releases = releases.filter(team__slug__in=query.teams)
    if query.releases is not None:
        releases = releases.filter(pk__in=query.releases)
    if query.mine:
        if not getattr(user, "is_authenticated", False):
            return releases.none()
        watched = Release.watchers.through.objects.filter(user=user).values("release_id")
        # A superset of "waiting for my sign-off": releases needing a role one of the user's
        # groups signs for. ``events`` keeps those actually waiting for them; the fingerprint
        # covers every candidate, so a sign-off that changes who waits changes the ETag.
        signing = ReleaseRequirement.objects.filter(group__in=user.groups.all()).values(
            "release_id"
        )
        releases = releases.filter(Q(manager=user) | Q(pk__in=watched) | Q(pk__in=signing))
    return releases


def _in_window(query: FeedQuery) -> Q:
    """Releases whose deadline may fall in a page's ``[start, end)``: a go/no-go in it, or no
    go/no-go and the go-live in it. A superset (a later go/no-go may be in the window while the
    earliest is not), which ``events`` narrows with ``deadline``. Read through the milestones'
    ``at`` and ``date`` indexes and the releases' ``go_live`` index, so a month costs what its
    own deadlines cost, however many releases await sign-off in other months."""
    timed, dated, live = Q(at__isnull=False), Q(at__isnull=True), Q()
    if query.start is not None:
        timed &= Q(at__gt=query.start - TIMED_MILESTONE)
        dated &= Q(date__gte=timezone.localdate(query.start))
        live &= Q(go_live__gt=query.start)
    if query.end is not None:
        timed &= Q(at__lt=query.end)
        dated &= Q(date__lt=timezone.localdate(query.end))
        live &= Q(go_live__lt=query.end + TIMED_MILESTONE)
    gates = Milestone.objects.filter(kind=MilestoneKind.GO_NO_GO)
    held_in_window = gates.filter(timed | dated).values("release_id")
    return Q(pk__in=held_in_window) | (live & ~Exists(gates.filter(release=OuterRef("pk"))))


def deadline(release: Release) -> tuple[Milestone | None, datetime, datetime]:
    """The deadline's milestone (the earliest go/no-go, if any) and its ``[start, end)``."""
    gates = [m for m in release.milestones.all() if m.kind == MilestoneKind.GO_NO_GO]
    gate = min(gates, key=lambda m: (m.sort_key, m.pk), default=None)
    if gate is None:
        return None, release.go_live - TIMED_MILESTONE, release.go_live
    if gate.at is not None:
        return gate, gate.at, gate.at + TIMED_MILESTONE
    return gate, gate.date, gate.date + timedelta(days=1)


# --- Fingerprint (for ETag and Last-Modified, without building events) -------------------------


def _summary(model, releases: QuerySet[Release], **aggregates) -> tuple:
    """One aggregate over the rows of ``model`` that belong to ``releases``: a semi-join served
    by the table's ``release_id`` index, so one scan of those rows, not a subquery per release."""
    row = model.objects.filter(release__in=releases).aggregate(
        rows=Count("pk"), ids=Sum("pk"), **aggregates
    )
    return tuple(row.values())


def fingerprint(query: FeedQuery) -> Fingerprint:
    if not query.wants(SIGNOFF):
        return Fingerprint()
    # The description depends on the sign-offs and on whether they are stale, which is on
    # everything an approver signs (scope, milestones, dependencies, the current build). One
    # aggregate per table over the rows of the releases awaiting sign-off: six queries whatever
    # their number (issue 16: ten correlated subqueries per release made a 304 cost 150 ms at
    # 3,336 such releases). Sign-offs are never deleted; for the rest, count and sum of ids
    # change on any insert or delete, and the latest ``updated_at`` on any edit.
    releases = _releases(query)
    ids = releases.values("pk")
    head = releases.aggregate(
        count=Count("pk"),
        ids=Sum("pk"),
        sequence=Sum("sequence"),
        updated=Max("updated_at"),
        team_at=Max("team__updated_at"),
    )
    if not head["count"]:
        return Fingerprint(parts=(tuple(head.values()),))
    signoffs = _summary(SignOff, ids, signed=Max("signed_at"))
    scope = _summary(ScopeItem, ids, changed=Max("updated_at"))
    milestones = _summary(Milestone, ids, sequence=Sum("sequence"), changed=Max("updated_at"))
    # An approver signs the version of what the release depends on, too.
    needs = _summary(ReleaseDependency, ids, changed=Max("depends_on__updated_at"))
    required = _summary(ReleaseRequirement, ids, roles=Sum("count"))
    builds = _summary(ReleaseCandidate, ids)
    parts = (tuple(head.values()), signoffs, scope, milestones, needs, required, builds)
    # The last element of each summary with a ``Max`` is that table's latest change.
    moments = [head["updated"], head["team_at"], signoffs[-1], scope[-1], milestones[-1]]
    return Fingerprint(parts=parts, last_modified=latest(*moments, needs[-1]))


# --- Events -----------------------------------------------------------------------------------


def _describe(status, release: Release, gate: Milestone | None, url: str) -> str:
    problems = status.problems()
    lines = (
        ["Waiting for:", *(f"- {problem}" for problem in problems)]
        if problems
        else ["Every required sign-off is in."]
    )
    when = "the go/no-go meeting" if gate is not None else "the go-live"
    lines += [
        "",
        f"Sign-offs are due by {when}.",
        f"State: {STATE_LABELS[release.state]}",
        f"Team: {release.team.name}",
        "",
        f"Release page: {settings.SITE_URL}{url}",
    ]
    return "\n".join(lines)


def signoff_event(release: Release, status, url: str) -> FeedEvent:
    gate, start, end = deadline(release)
    signoffs = status.signoffs
    moments = [release.updated_at, release.team.updated_at]
    moments += [s.signed_at for s in signoffs] + [m.updated_at for m in release.milestones.all()]
    return FeedEvent(
        kind=SIGNOFF,
        pk=release.pk,
        summary=f"{release_label(release)} — sign-off deadline",
        start=start,
        end=end,
        updated=max(moments),
        # Each part only grows: the release's (times, state), the gate's, and sign-offs are
        # never deleted.
        sequence=release.sequence + (gate.sequence if gate else 0) + len(signoffs),
        status=CONFIRMED,
        description=_describe(status, release, gate, url),
        path=url,
        team=release.team.name,
        team_slug=release.team.slug,
        color=release.team.color,
        categories=(release.team.name, KINDS[SIGNOFF]),
    )


def events(query: FeedQuery) -> Iterator[FeedEvent]:
    if not query.wants(SIGNOFF):
        return
    releases = _releases(query)
    if query.start is not None or query.end is not None:
        releases = releases.filter(_in_window(query))
    releases = with_approval_data(releases)
    if query.mine:
        releases = releases.prefetch_related("watchers")
    releases = list(releases)
    if query.mine:
        user = query.user
        waiting = {p.release.pk for p in pending_for(user, releases)}
        releases = [
            r
            for r in releases
            if r.pk in waiting
            or r.manager_id == user.pk
            or any(w.pk == user.pk for w in r.watchers.all())
        ]
    for release in releases:
        _gate, start, end = deadline(release)
        if query.start is not None and end <= _moment(query.start, start):
            continue
        if query.end is not None and start >= _moment(query.end, start):
            continue
        url = reverse("releases:detail", args=[release.pk]) + "#signoffs"
        yield signoff_event(release, approval_status(release), url)


def _moment(bound: datetime, like: date | datetime) -> date | datetime:
    """``bound`` comparable with ``like``: a local date for all-day deadlines."""
    return bound if isinstance(like, datetime) else timezone.localdate(bound)
