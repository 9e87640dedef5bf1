"""Reads of incidents that the API, the admin and the pages share, limited to what the reader
may see and prefetched so that a list costs a fixed number of queries whatever its length.

An incident is visible to whoever may see every service it names (a private team's service only
to its members, release managers, auditors, superusers and SRE): its title and times are about
those services. The release it names as its cause, directly or through the deployment, follows
the releases' own visibility: a reader who may not see that release sees the incident without
it (``release_visible`` / ``deployment_release_visible`` are False). Deployments are visible to
everyone signed in, as on the deployments API.
"""

from __future__ import annotations

from django.db.models import BooleanField, Case, Prefetch, Q, QuerySet, Value, When

from environments.models import Deployment, Environment
from releases.models import Release, Team
from releases.selectors import visible_release_q, visible_teams
from reliability.models import Service
from reliability.permissions import sees_every_service
from reliability.selectors import visible_service_q

from .models import Incident

IncidentServices = Incident.services.through


def visible_incident_q(user, prefix: str = "") -> Q:
    """A filter keeping the incidents ``user`` may see; ``prefix`` is a path to an Incident."""
    if sees_every_service(user):
        return Q()
    hidden = IncidentServices.objects.exclude(visible_service_q(user, "service__")).values(
        "incident_id"
    )
    return ~Q(**{f"{prefix}pk__in": hidden})


def visible_incidents(user, queryset: QuerySet[Incident] | None = None) -> QuerySet[Incident]:
    queryset = Incident.objects.all() if queryset is None else queryset
    condition = visible_incident_q(user)
    return queryset if condition == Q() else queryset.filter(condition)


def release_visible_flag(user, prefix: str = "release__"):
    """An expression: whether ``user`` may see the release at ``prefix`` (an annotation)."""
    condition = visible_release_q(user, prefix)
    if condition == Q():
        return Value(True, output_field=BooleanField())
    return Case(
        When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
    )


def incident_list(user) -> QuerySet[Incident]:
    """The incidents ``user`` may see with everything a row shows (services and their teams,
    source, cause, reporter), newest first, in two queries whatever the number."""
    services = Service.objects.select_related("team").order_by("name")
    return (
        visible_incidents(user)
        .select_related(
            "source", "release__team", "deployment__environment", "deployment__release__team"
        )
        .select_related("reported_by")
        .prefetch_related(Prefetch("services", queryset=services))
        .annotate(
            release_visible=release_visible_flag(user, "release__"),
            deployment_release_visible=release_visible_flag(user, "deployment__release__"),
        )
        .order_by("-opened_at", "-id")
    )


def teams_for_filter(user) -> QuerySet[Team]:
    """The teams whose incidents ``user`` may ask for: those they may see (SRE: every one)."""
    return Team.objects.all() if sees_every_service(user) else visible_teams(user)


def team_incidents_q(team_ids) -> Q:
    """Incidents touching a service of one of the teams, or caused by one of their releases or
    deployments (a deployment without a release: of an environment one of them owns).

    Written as id subqueries: joining from the incidents to every deployment would read the
    whole deployment history; each subquery reads the teams' rows by an index, once."""
    releases = Release.objects.filter(team__in=team_ids).values("pk")
    owned = Environment.objects.filter(owner_team__in=team_ids).values("pk")
    return (
        Q(pk__in=IncidentServices.objects.filter(service__team__in=team_ids).values("incident_id"))
        | Q(release__in=releases)
        | Q(deployment__in=Deployment.objects.filter(release__in=releases).values("pk"))
        | Q(
            deployment__in=Deployment.objects.filter(
                release__isnull=True, environment__in=owned
            ).values("pk")
        )
    )


def release_incidents(user, release) -> QuerySet[Incident]:
    """The incidents ``user`` may see that name ``release`` as their cause, directly or
    through one of its deployments (the release page)."""
    return incident_list(user).filter(Q(release=release) | Q(deployment__release=release))
