"""Filters shared by the environments API and pages: environments, bookings, waitlist entries,
maintenance windows and deployments."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from releases.models import Release, Team
from releases.selectors import visible_release_q, visible_teams

from .models import (
    Booking,
    BookingState,
    Deployment,
    DeploymentOutcome,
    Environment,
    EnvironmentKind,
    MaintenanceWindow,
    WaitlistEntry,
    WaitlistState,
)


def my_teams(user) -> QuerySet:
    """The ids of the teams ``user`` belongs to, as a subquery."""
    return Team.objects.filter(members=user).values("pk")


class _SlugsFilter(filters.BaseInFilter, filters.CharFilter):
    pass


def _slugs(model: str, help_text: str) -> _SlugsFilter:
    """A filter on a related object's slug; several comma-separated (``?team=a,b``)."""
    return _SlugsFilter(field_name=f"{model}__slug", help_text=help_text)


class EnvironmentFilter(filters.FilterSet):
    kind = filters.MultipleChoiceFilter(
        choices=EnvironmentKind.choices, help_text="Kind; repeat for several."
    )
    owner_team = filters.CharFilter(field_name="owner_team__slug", help_text="Team slug.")

    class Meta:
        model = Environment
        fields = ["kind", "owner_team", "bookable"]


class OverlapFilter(filters.FilterSet):
    """``start``/``end``: rows overlapping ``[start, end)``; ``mine``: your teams' or yours."""

    start = filters.IsoDateTimeFilter(
        field_name="end", lookup_expr="gt", help_text="Overlapping a range starting here."
    )
    end = filters.IsoDateTimeFilter(
        field_name="start", lookup_expr="lt", help_text="Overlapping a range ending here."
    )
    environment = _slugs("environment", "Environment slug; comma-separate several.")

    mine_owner = "booked_by"

    def filter_mine(self, queryset, name, value):
        if not value:
            return queryset
        user = self.request.user
        return queryset.filter(Q(team__in=my_teams(user)) | Q(**{self.mine_owner: user}))


class _VisibleTeams:
    """``team``: a private team the reader may not see matches nothing, so a filter cannot
    tell which bookings (or entries) are that team's (see environments.privacy)."""

    def filter_team(self, queryset, name, value):
        if not value:
            return queryset
        teams = visible_teams(self.request.user).filter(slug__in=value)
        return queryset.filter(team__in=teams.values("pk"))


def _visible_releases(request) -> QuerySet:
    if request is None:  # the schema generator
        return Release.objects.none()
    return Release.objects.filter(visible_release_q(request.user))


def _team_slugs() -> _SlugsFilter:
    return _SlugsFilter(method="filter_team", help_text="Team slug; comma-separate several.")


class BookingFilter(_VisibleTeams, OverlapFilter):
    team = _team_slugs()
    # Only releases the reader may see: an invisible one is refused like a missing one.
    release = filters.ModelChoiceFilter(queryset=_visible_releases)
    state = filters.MultipleChoiceFilter(
        choices=BookingState.choices, help_text="State; repeat for several."
    )
    mine = filters.BooleanFilter(
        method="filter_mine", help_text="Only bookings of your teams or made by you."
    )

    class Meta:
        model = Booking
        fields = ["environment", "team", "state", "mine", "start", "end", "release"]


class WaitlistFilter(_VisibleTeams, OverlapFilter):
    team = _team_slugs()
    state = filters.MultipleChoiceFilter(
        choices=WaitlistState.choices, help_text="State; repeat for several."
    )
    mine = filters.BooleanFilter(
        method="filter_mine", help_text="Only entries of your teams or queued by you."
    )
    mine_owner = "requested_by"

    class Meta:
        model = WaitlistEntry
        fields = ["environment", "team", "state", "mine", "start", "end"]


class MaintenanceFilter(OverlapFilter):
    class Meta:
        model = MaintenanceWindow
        fields = ["environment", "start", "end"]


def _visible_releases(request) -> QuerySet:
    user = getattr(request, "user", None)
    return Release.objects.filter(visible_release_q(user)) if user else Release.objects.none()


class DeploymentFilter(filters.FilterSet):
    environment = _slugs("environment", "Environment slug; comma-separate several.")
    # Only a release the reader may see (another is "not a valid choice", like a missing one):
    # its deployments would show how often a private release was deployed.
    release = filters.ModelChoiceFilter(
        queryset=_visible_releases, help_text="Release id: that release's deployments."
    )
    outcome = filters.MultipleChoiceFilter(
        choices=DeploymentOutcome.choices, help_text="Outcome; repeat for several."
    )
    in_progress = filters.BooleanFilter(
        method="filter_in_progress", help_text="Only running deployments (or, false, finished)."
    )

    class Meta:
        model = Deployment
        fields = ["environment", "release", "outcome", "in_progress"]

    def filter_in_progress(self, queryset, name, value):
        if value is None:
            return queryset
        running = Q(outcome=DeploymentOutcome.IN_PROGRESS)
        return queryset.filter(running if value else ~running)
