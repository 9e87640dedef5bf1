"""Reads that the gate, the freezes, the post-release watch and the pages share.

A release touches the services it names; a release naming none touches its team's services.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.db.models import Count, F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from environments.models import Deployment, EnvironmentKind
from releases.selectors import visible_release_q, visible_team_q

from .models import SLO, Service, SLOSnapshot
from .permissions import sees_every_service


def services_touched(release_ids: Iterable[int]) -> dict[int, list[Service]]:
    """release id → the services it touches, by name (two queries, whatever the number)."""
    ids = set(release_ids)
    out: dict[int, list[Service]] = {pk: [] for pk in ids}
    if not ids:
        return out
    named = Service.releases.through.objects.filter(release_id__in=ids).select_related("service")
    for link in named:
        out[link.release_id].append(link.service)
    unnamed = [pk for pk, services in out.items() if not services]
    if unnamed:
        # One row per (service, release of its team): the join annotates the release.
        by_team = Service.objects.filter(team__releases__in=unnamed).annotate(
            touching=F("team__releases__id")
        )
        for service in by_team:
            out[service.touching].append(service)
    for services in out.values():
        services.sort(key=lambda service: service.name)
    return out


def releases_touching_q(service: Service, prefix: str = "") -> Q:
    """A filter keeping the releases that touch ``service`` (``prefix``: a path to a Release):
    those naming it, and those of its team naming no service."""
    named = Service.releases.through.objects.filter(service=service).values("release_id")
    names_any = Service.releases.through.objects.values("release_id")
    return Q(**{f"{prefix}pk__in": named}) | (
        Q(**{f"{prefix}team_id": service.team_id}) & ~Q(**{f"{prefix}pk__in": names_any})
    )


# --- What a reader may see, and what the pages and the API read (engineer D) ----------------
# Services follow their team's privacy, like releases (``releases.selectors``); SRE see every
# team's services as well (they run every team's SLOs). See ``reliability.permissions``.

# The most points one chart series holds: a 28-day window evaluated every minute has 40,320
# snapshots; the database keeps an evenly spread ~300 of them (always the latest).
SERIES_POINTS = 300


def visible_service_q(user, prefix: str = "") -> Q:
    """A filter keeping the services ``user`` may see; ``prefix`` is a path to a Service."""
    if sees_every_service(user):
        return Q()
    return visible_team_q(user, f"{prefix}team")


def visible_services(user, queryset: QuerySet[Service] | None = None) -> QuerySet[Service]:
    queryset = Service.objects.select_related("team") if queryset is None else queryset
    return queryset.filter(visible_service_q(user))


def visible_slos(user, queryset: QuerySet[SLO] | None = None) -> QuerySet[SLO]:
    queryset = SLO.objects.select_related("service__team") if queryset is None else queryset
    return queryset.filter(visible_service_q(user, "service__"))


def service_list(user) -> QuerySet[Service]:
    """The services ``user`` may see, each with its team and SLOs (two queries)."""
    slos = SLO.objects.order_by("name", "id")
    return visible_services(user).prefetch_related(Prefetch("slos", queryset=slos))


def window_start(slo: SLO, now: datetime) -> datetime:
    return now - timedelta(days=slo.window_days)


def snapshot_series(
    slos: Sequence[SLO], *, now: datetime, points: int = SERIES_POINTS
) -> dict[int, list[SLOSnapshot]]:
    """SLO id → its snapshots over its own window, oldest first, evenly thinned to at most
    ``points`` (always keeping the latest), in one query whatever the number of SLOs.

    The thinning happens in the database: row ``n`` of ``count`` is kept when
    ``n * points // count`` steps up, which keeps every row when there are fewer than
    ``points`` and an even spread of exactly ``points`` otherwise.
    """
    out: dict[int, list[SLOSnapshot]] = {slo.pk: [] for slo in slos}
    if not slos:
        return out
    within = Q()
    for slo in slos:
        within |= Q(slo_id=slo.pk, at__gte=window_start(slo, now), at__lte=now)
    by_slo = {"partition_by": [F("slo_id")]}
    rows = (
        SLOSnapshot.objects.filter(within)
        .annotate(
            n=Window(RowNumber(), order_by=[F("at").asc(), F("id").asc()], **by_slo),
            count=Window(Count("id"), **by_slo),
        )
        .annotate(step=F("n") * points / F("count"), before=(F("n") - 1) * points / F("count"))
        .filter(step__gt=F("before"))
        .only("id", "slo_id", "at", "state", "alert", "sli", "budget_remaining")
        .order_by("slo_id", "at", "id")
    )
    for row in rows:
        out[row.slo_id].append(row)
    return out


def deployments_touching(
    service: Service, user, *, since: datetime, until: datetime, limit: int = 200
) -> list[Deployment]:
    """Production deployments (newest first, at most ``limit``) of the releases touching
    ``service`` that ``user`` may see, started within ``[since, until]``. A release the reader
    may not see is left out altogether: its version would name it."""
    return list(
        Deployment.objects.filter(
            releases_touching_q(service, "release__"),
            visible_release_q(user, "release__"),
            environment__kind=EnvironmentKind.PROD,
            deployed_at__gte=since,
            deployed_at__lte=until,
        )
        .select_related("environment", "release", "deployed_by")
        .order_by("-deployed_at", "-id")[:limit]
    )
