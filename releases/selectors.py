"""Reads that pages, API and feeds share, prefetched so that a list costs a fixed number of
queries whatever its length, and limited to what the reader may see.

Visibility (invariant 7 for feeds, the same rule on pages and in the API): releases of public
teams are visible to every signed-in user; a private team's releases only to its members, the
release's own manager, release managers (``releases.change_release``), auditors and superusers.
Freeze windows for all teams are visible to all; a team's freeze follows the team's privacy.
"""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from . import roles
from .models import (
    FreezeWindow,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseState,
    ReleaseTransition,
    Team,
)


def sees_every_team(user) -> bool:
    """Whether ``user`` may see private teams' releases without being a member.

    Cached on the user object: a page or feed asks several times per request, and the answer
    costs a query or two the first time.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(user, "_relcal_sees_every_team", None)
    if cached is None:
        cached = (
            user.is_superuser
            or user.has_perm("releases.change_release")
            or user.groups.filter(name=roles.AUDITORS).exists()
        )
        user._relcal_sees_every_team = cached
    return cached


def visible_team_q(user, field: str = "team") -> Q:
    """A filter on ``field`` (a path to a Team) keeping the teams ``user`` may see."""
    if sees_every_team(user):
        return Q()
    visible = Q(**{f"{field}__is_private": False})
    if getattr(user, "is_authenticated", False):
        # A subquery rather than a join over members: a join would repeat rows.
        visible |= Q(**{f"{field}__in": Team.objects.filter(members=user).values("pk")})
    return visible


def visible_release_q(user, prefix: str = "") -> Q:
    """A filter keeping the releases ``user`` may see; ``prefix`` is a path to a Release."""
    if sees_every_team(user):
        return Q()
    team = f"{prefix}team" if prefix else "team"
    visible = visible_team_q(user, team)
    if getattr(user, "is_authenticated", False):
        visible |= Q(**{f"{prefix}manager": user})
    return visible


def visible_releases(user, queryset: QuerySet[Release] | None = None) -> QuerySet[Release]:
    """``queryset`` (default: ``release_list()``) limited to what ``user`` may see."""
    queryset = release_list() if queryset is None else queryset
    return queryset.filter(visible_release_q(user))


# States a release can still be waited for in: the prerequisite picker offers only these, and
# the page's search-as-you-type asks the API for the same list (see dependency_candidates).
UNSHIPPED_STATES = tuple(
    state
    for state in ReleaseState.values
    if state not in (ReleaseState.RELEASED, ReleaseState.CANCELLED)
)


def dependency_candidates(user, release: Release) -> QuerySet[Release]:
    """Releases ``release`` may depend on, as offered to ``user``: visible to them (a private one
    is "not a valid choice", like an unknown id), not yet shipped or cancelled, not itself.

    The page never lists them all: it shows a bounded search over this queryset and validates
    the one chosen against it, so its cost does not grow with the table.
    """
    return (
        visible_releases(user, Release.objects.exclude(pk=release.pk))
        .filter(state__in=UNSHIPPED_STATES)
        .select_related("team")
        .order_by("go_live", "id")
    )


def visible_freeze_windows(
    user, queryset: QuerySet[FreezeWindow] | None = None
) -> QuerySet[FreezeWindow]:
    queryset = FreezeWindow.objects.select_related("team") if queryset is None else queryset
    if sees_every_team(user):
        return queryset
    return queryset.filter(Q(team__isnull=True) | visible_team_q(user))


def visible_teams(user) -> QuerySet[Team]:
    teams = Team.objects.all()
    if sees_every_team(user):
        return teams
    visible = Q(is_private=False)
    if getattr(user, "is_authenticated", False):
        visible |= Q(pk__in=Team.objects.filter(members=user).values("pk"))
    return teams.filter(visible)


def release_list() -> QuerySet[Release]:
    return Release.objects.select_related("team", "manager").order_by("go_live", "id")


def release_detail(user=None) -> QuerySet[Release]:
    """One release with everything its page shows: milestones, scope, links both ways, history.

    With ``user``, releases and linked releases that the user may not see are left out.
    """
    dependencies = ReleaseDependency.objects.select_related("depends_on__team")
    dependents = ReleaseDependency.objects.select_related("release__team")
    releases = Release.objects.all()
    if user is not None:
        dependencies = dependencies.filter(visible_release_q(user, "depends_on__"))
        dependents = dependents.filter(visible_release_q(user, "release__"))
        releases = releases.filter(visible_release_q(user))
    return releases.select_related("team", "manager").prefetch_related(
        Prefetch("milestones", queryset=Milestone.objects.order_by("date", "at", "id")),
        "scope_items__owner",
        Prefetch("dependencies", queryset=dependencies),
        Prefetch("dependents", queryset=dependents),
        Prefetch("transitions", queryset=ReleaseTransition.objects.select_related("actor")),
        "watchers",
    )
