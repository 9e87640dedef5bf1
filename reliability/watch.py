"""The post-release watch: after a production deployment of a release succeeds, Relcal watches
the SLOs of the services the release touches for ``RELCAL_WATCH_MINUTES`` (2 hours by default).

- ``watch_start`` (on ``deployment_finished``): a succeeded production deployment of a release,
  not a rollback, starts a watch from its finish. A deployment recorded after its watch window
  has passed is not watched (what its SLOs did then is not known any more).
- ``watch_slo`` (on ``slo_evaluated``): each evaluation of a touched SLO during a watch keeps
  the worst figures seen per SLO (budget left, burn rates); the first page-level burn (the
  multiwindow, multi-burn-rate alert) marks the watch degraded, once: the release manager, the
  deployment's starter and the team's webhooks hear of it at once (the reminder kind
  ``deployment.degraded``; one delivery per recipient, whatever happens later).
- ``close_watches`` (from ``watch_slo``, and from the reminders scan every minute, so that a
  watch ends even when no SLO is evaluated): a watch past its end without a page-level burn is
  clean, with the figures seen.

Rows are claimed with conditional updates (``state="watching"``), so concurrent evaluations and
scans never degrade or close one watch twice. State changes are audited under the release, with
Relcal as the actor.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from environments.models import Deployment, DeploymentOutcome, EnvironmentKind
from relcal import audit

from . import wording
from .models import SLO, Alert, DeploymentWatch, WatchState
from .selectors import releases_touching_q, services_touched


def watch_minutes() -> int:
    return settings.RELCAL_WATCH_MINUTES


def figure(slo: SLO, now: datetime) -> dict[str, Any]:
    """What a watch keeps of an SLO: enough to word it later, for any reader."""
    return {
        "slo_id": slo.pk,
        "service_id": slo.service_id,
        "team_id": slo.service.team_id,
        "service": slo.service.name,
        "slo": slo.name,
        "objective": wording.objective_text(slo.objective),
        "state": slo.state,
        "alert": slo.alert,
        "sli": slo.sli,
        "budget_remaining": slo.budget_remaining,
        "burn_rates": slo.burn_rates or {},
        "at": audit.jsonable(now),
    }


def _audit(watch: DeploymentWatch, action: str, release_id: int | None, **after) -> None:
    audit.record(
        actor=None,
        action=action,
        obj=watch,
        release_id=release_id,
        after={"state": watch.state, **after},
    )


@transaction.atomic
def watch_start(*, deployment: Deployment, actor=None) -> DeploymentWatch | None:
    """Start the watch of a succeeded production deployment (once; None when not watched)."""
    if (
        deployment.outcome != DeploymentOutcome.SUCCEEDED
        or deployment.is_rollback
        or deployment.release_id is None
        or deployment.finished_at is None
        or deployment.environment.kind != EnvironmentKind.PROD
    ):
        return None
    until = deployment.finished_at + timedelta(minutes=watch_minutes())
    if until <= timezone.now():
        return None
    watch, created = DeploymentWatch.objects.get_or_create(
        deployment=deployment,
        defaults={"started_at": deployment.finished_at, "until": until},
    )
    if created:
        audit.record(
            actor=actor,
            action="deployment_watch.start",
            obj=watch,
            release_id=deployment.release_id,
            after={"state": watch.state, "started_at": watch.started_at, "until": watch.until},
        )
    return watch


def _merge(figures: list[dict], entry: dict) -> list[dict] | None:
    """``figures`` with ``entry`` in place of the SLO's earlier one if it is worse (or new);
    None when nothing changes."""
    for index, seen in enumerate(figures):
        if seen.get("slo_id") == entry["slo_id"]:
            if seen.get("alert") == Alert.PAGE:
                return None  # the page-level burn stays the record
            if entry["alert"] != Alert.PAGE and wording.worst_burn(
                entry["burn_rates"]
            ) <= wording.worst_burn(seen.get("burn_rates")):
                return None
            return [*figures[:index], entry, *figures[index + 1 :]]
    return [*figures, entry]


@transaction.atomic
def watch_slo(*, slo: SLO, now: datetime) -> list[DeploymentWatch]:
    """After an evaluation of ``slo``: note its figures on the watches of the releases touching
    its service, and degrade them on a page-level burn. Answers the watches degraded now."""
    close_watches(now)
    watches = list(
        DeploymentWatch.objects.select_for_update(of=("self",))
        .filter(state=WatchState.WATCHING, started_at__lte=now, until__gt=now)
        .filter(releases_touching_q(slo.service, "deployment__release__"))
        .select_related("deployment")
    )
    degraded = []
    entry = figure(slo, now)
    for watch in watches:
        figures = _merge(list(watch.figures or []), entry)
        if slo.alert == Alert.PAGE:
            figures = [entry, *[f for f in watch.figures or [] if f.get("slo_id") != slo.pk]]
            claimed = DeploymentWatch.objects.filter(pk=watch.pk, state=WatchState.WATCHING).update(
                state=WatchState.DEGRADED, degraded_at=now, figures=figures
            )
            if claimed:
                watch.state, watch.degraded_at, watch.figures = (
                    WatchState.DEGRADED,
                    now,
                    figures,
                )
                Deployment.objects.filter(pk=watch.deployment_id).update(degraded_at=now)
                _audit(
                    watch,
                    "deployment_watch.degraded",
                    watch.deployment.release_id,
                    degraded_at=now,
                    figures=figures,
                )
                degraded.append(watch)
        elif figures is not None:
            DeploymentWatch.objects.filter(pk=watch.pk, state=WatchState.WATCHING).update(
                figures=figures
            )
    return degraded


@transaction.atomic
def close_watches(now: datetime) -> int:
    """Watches past their end without a page-level burn become clean, with the figures seen
    (and, for touched SLOs never evaluated during the watch, their figures now). Answers how
    many closed."""
    due = list(
        DeploymentWatch.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(state=WatchState.WATCHING, until__lte=now)
        .select_related("deployment")
        .order_by("until", "pk")[:500]
    )
    if not due:
        return 0
    touched = services_touched({watch.deployment.release_id for watch in due} - {None})
    services = {service.pk: service for found in touched.values() for service in found}
    slos: dict[int, list[SLO]] = {}
    for slo in SLO.objects.filter(service_id__in=services).order_by("pk"):
        slo.service = services[slo.service_id]
        slos.setdefault(slo.service_id, []).append(slo)
    closed = 0
    for watch in due:
        figures = list(watch.figures or [])
        seen = {entry.get("slo_id") for entry in figures}
        for service in touched.get(watch.deployment.release_id, []):
            for slo in slos.get(service.pk, []):
                if slo.pk not in seen:
                    figures.append(figure(slo, now))
        claimed = DeploymentWatch.objects.filter(pk=watch.pk, state=WatchState.WATCHING).update(
            state=WatchState.CLEAN, figures=figures
        )
        if claimed:
            watch.state, watch.figures = WatchState.CLEAN, figures
            _audit(watch, "deployment_watch.clean", watch.deployment.release_id, figures=figures)
            closed += 1
    return closed
