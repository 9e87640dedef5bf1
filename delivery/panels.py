"""The "Delivery" panel on the release page (registered in ``DeliveryConfig.ready`` through
``releases.panels``): the release's own DORA facts — each production deployment with its lead
time (first commit to production) and whether the change failed (rolled back, hot-fixed or the
cause of an incident) — and the incidents the release caused, with their time to restore.

Left out for a release that never reached production and caused no incident. Three queries (a
fourth for a private team's release), whatever the number of deployments or incidents; at most
``SHOWN`` of each are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest

from environments.models import Deployment, EnvironmentKind
from releases.models import Release
from releases.panels import register_release_panel

from .models import FailureCause, Incident, ProductionChange
from .selectors import release_incidents, teams_for_filter
from .wording import duration_text

SHOWN = 5


@dataclass
class DeploymentRow:
    deployment: Deployment
    change: ProductionChange | None
    lead_time: str  # "2 d 4 h", "" when unknown or not a change
    failure: str  # "rolled back", "" when the change did not fail


@dataclass
class IncidentRow:
    incident: Incident
    restored_in: str  # "3 h 20 min", "" while open


def _change(deployment: Deployment) -> ProductionChange | None:
    try:
        return deployment.change
    except ObjectDoesNotExist:
        return None


def _failure(change: ProductionChange | None) -> str:
    if change is None or not change.failed:
        return ""
    return {
        FailureCause.INCIDENT: "caused an incident",
        FailureCause.ROLLED_BACK: "rolled back",
        FailureCause.HOTFIX: "hot-fixed",
    }.get(change.failure, "failed")


def _restored_in(opened_at: datetime, resolved_at: datetime | None) -> str:
    if resolved_at is None:
        return ""
    return duration_text((resolved_at - opened_at).total_seconds())


def panel_context(request: HttpRequest, release: Release) -> dict[str, Any] | None:
    deployments = list(
        Deployment.objects.filter(release=release, environment__kind=EnvironmentKind.PROD)
        .select_related("environment", "change", "candidate")
        .order_by("-deployed_at", "-id")[: SHOWN + 1]
    )
    incidents = list(release_incidents(request.user, release)[: SHOWN + 1])
    if not deployments and not incidents:
        return None
    rows = []
    for deployment in deployments[:SHOWN]:
        change = _change(deployment)
        lead = change.lead_time_seconds if change is not None else None
        rows.append(
            DeploymentRow(
                deployment=deployment,
                change=change,
                lead_time=duration_text(lead) if lead is not None else "",
                failure=_failure(change),
            )
        )
    team = release.team
    return {
        # The metrics of the release's team, for readers who may see that team (a release
        # manager of a private team's release may not).
        "team_link": not team.is_private
        or teams_for_filter(request.user).filter(pk=team.pk).exists(),
        "deployments": rows,
        "more_deployments": len(deployments) > SHOWN,
        "incidents": [
            IncidentRow(incident, _restored_in(incident.opened_at, incident.resolved_at))
            for incident in incidents[:SHOWN]
        ],
        "more_incidents": len(incidents) > SHOWN,
    }


def connect() -> None:
    # After the readiness, reliability and sign-off panels, before the deployments' history.
    register_release_panel("delivery/_release_delivery.html", panel_context, order=20)
