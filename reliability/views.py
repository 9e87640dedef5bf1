"""The Reliability pages: an index of the services a reader may see with each SLO's state, and
a page per service with each SLO's status in words, budget, burn rates, alert and the
error-budget burn-down chart, with the production deployments on the same time axis.

Each page runs a fixed number of queries, however many services, SLOs, snapshots or
deployments there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from relcal.times import fmt, fmt_minutes
from releases.models import Team

from . import budget, chart, prometheus, selectors, wording
from .models import SLO, Alert, Service, SLISource, SLOState
from .permissions import can_manage_services
from .policy import Policy, policy_for

MOST_SERVICES = 200  # on the index; the rest is said, not rendered
MOST_SLOS = 30  # charts on one service page
BURN_WINDOWS = budget.WINDOWS
ALERTS = {Alert.PAGE: "Page", Alert.TICKET: "Ticket"}
STATE_ORDER = [SLOState.EXHAUSTED, SLOState.AT_RISK, SLOState.NO_DATA, SLOState.HEALTHY]


def budget_text(slo: SLO) -> str:
    """ "63.2% (25 min of full outage)", "−12.0% (overspent by 5 min of full outage)"."""
    if slo.budget_remaining is None:
        return "unknown"
    minutes = budget.slo_budget_minutes(slo) or 0.0
    share = chart.percent(slo.budget_remaining)
    if minutes < 0:
        return f"{share} (overspent by {fmt_minutes(-minutes)} of full outage)"
    return f"{share} ({fmt_minutes(minutes)} of full outage)"


def status_text(slo: SLO, policy: Policy, service: Service) -> str:
    """What the state means, in one plain sentence."""
    threshold = f"{policy.at_risk_below * 100:.0f}%"
    left = chart.percent(slo.budget_remaining) if slo.budget_remaining is not None else ""
    if slo.state == SLOState.HEALTHY:
        return f"Healthy: {left} of the error budget is left, above the {threshold} threshold."
    if slo.state == SLOState.AT_RISK:
        return (
            f"At risk: only {left} of the error budget is left, below the {threshold} "
            "freeze threshold."
        )
    if slo.state == SLOState.EXHAUSTED:
        consequence = (
            f"releases touching {service} are blocked, except fixes and security items"
            if policy.blocks
            else f"releases touching {service} get a warning"
        )
        freeze = " and a freeze is on the calendar" if policy.freeze else ""
        return f"Exhausted: the error budget is spent ({left}); {consequence}{freeze}."
    since = f" since {fmt(slo.state_since)}" if slo.state_since else ""
    if slo.evaluated_at is None:
        return "No data: not evaluated yet — not treated as healthy."
    if slo.source == SLISource.PUSHED:
        return f"No data: no measurements pushed for the window{since} — not treated as healthy."
    if not prometheus.server_url(slo):
        return "No data: no Prometheus server is configured — not treated as healthy."
    if slo.last_error == budget.NO_EVENTS:
        return f"No data: Prometheus has no events in the window{since} — not treated as healthy."
    return f"No data: Prometheus did not answer{since} — not treated as healthy."


@dataclass
class BurnRate:
    window: str
    rate: float | None

    @property
    def text(self) -> str:
        return "—" if self.rate is None else f"{self.rate:.1f}×"

    @property
    def fast(self) -> bool:
        return self.rate is not None and self.rate > 1


@dataclass
class SLOPanel:
    slo: SLO
    status: str
    budget: str
    burn_rates: list[BurnRate]
    alert: str
    alert_help: str
    chart: str
    chart_narrow: str
    table: list[tuple[datetime, str, str]]
    objective: str
    sli: str


def _panel(
    slo: SLO,
    *,
    service: Service,
    policy: Policy,
    snapshots: list,
    deployments: list,
    now: datetime,
) -> SLOPanel:
    start = selectors.window_start(slo, now)
    labels = dict(SLOState.choices)
    points = [
        chart.Point(at=row.at, remaining=row.budget_remaining, label=labels.get(row.state, ""))
        for row in snapshots
    ]
    markers = [
        chart.Marker(
            at=deployment.deployed_at,
            title=deployment_title(deployment),
            outcome=deployment.outcome,
        )
        for deployment in deployments
        if deployment.deployed_at >= start
    ]
    objective = wording.objective_text(slo.objective)
    drawing = {
        "points": points,
        "start": start,
        "end": now,
        "threshold": policy.at_risk_below,
        "markers": markers,
        "title": f"Error budget left of {service} {slo.name} ({objective}%), last "
        f"{slo.window_days} days",
    }
    # Drawn for a desk and for a phone; the stylesheet shows the one that fits.
    svg = chart.burndown_svg(**drawing, chart_id=f"burndown-{slo.pk}", layout=chart.WIDE)
    narrow = chart.burndown_svg(
        **drawing, chart_id=f"burndown-{slo.pk}-narrow", layout=chart.NARROW
    )
    alert_help = dict(Alert.choices).get(slo.alert, "")
    return SLOPanel(
        slo=slo,
        status=status_text(slo, policy, service),
        budget=budget_text(slo),
        burn_rates=[BurnRate(w, (slo.burn_rates or {}).get(w)) for w in BURN_WINDOWS],
        alert=ALERTS.get(slo.alert, "None"),
        alert_help=alert_help if slo.alert else "No burn rate crosses an alert threshold.",
        chart=svg,
        chart_narrow=narrow,
        table=[(p.at, chart.percent(p.remaining), p.label) for p in chart.table_rows(points)],
        objective=objective,
        sli="" if slo.sli is None else f"{slo.sli * 100:.3f}%",
    )


def deployment_title(deployment) -> str:
    return chart.deployment_title(
        version=deployment.version,
        environment=deployment.environment.slug,
        outcome=deployment.get_outcome_display().lower(),
        at=deployment.deployed_at,
    )


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    visible = selectors.visible_services(user, Service.objects.all())
    teams = list(Team.objects.filter(pk__in=visible.values("team_id")).order_by("name"))
    team = next((t for t in teams if t.slug == request.GET.get("team")), None)
    services = selectors.service_list(user).order_by("name")
    if team is not None:
        services = services.filter(team=team)
    shown = list(services[: MOST_SERVICES + 1])
    more = len(shown) > MOST_SERVICES
    shown = shown[:MOST_SERVICES]
    states = [slo.state for service in shown for slo in service.slos.all()]
    counts = [(state, SLOState(state).label, states.count(state)) for state in STATE_ORDER]
    for service in shown:
        for slo in service.slos.all():
            left = slo.budget_remaining
            slo.budget_text = "—" if left is None else chart.percent(left)
            slo.objective_text = wording.objective_text(slo.objective)
            slo.alert_text = ALERTS.get(slo.alert, "")
    return render(
        request,
        "reliability/index.html",
        {
            "services": shown,
            "teams": teams,
            "team": team,
            "more": more,
            "most": MOST_SERVICES,
            "counts": [row for row in counts if row[2]],
            "current": "reliability",
        },
    )


@login_required
@require_GET
def service_page(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    service = get_object_or_404(selectors.visible_services(user), slug=slug)
    slos = list(service.slos.order_by("name", "id")[:MOST_SLOS])
    policy = policy_for(service.team_id)
    now = timezone.now()
    longest = max((slo.window_days for slo in slos), default=28)
    since = now - timedelta(days=longest)
    deployments = selectors.deployments_touching(service, user, since=since, until=now)
    series = selectors.snapshot_series(slos, now=now)
    panels = [
        _panel(
            slo,
            service=service,
            policy=policy,
            snapshots=series[slo.pk],
            deployments=deployments,
            now=now,
        )
        for slo in slos
    ]
    for deployment in deployments:
        deployment.title = deployment_title(deployment)
    context: dict[str, Any] = {
        "service": service,
        "panels": panels,
        "policy": policy,
        "threshold": f"{policy.at_risk_below * 100:.0f}%",
        "deployments": deployments,
        "since": since,
        "longest": longest,
        "can_manage": can_manage_services(user, service.team),
        "windows": BURN_WINDOWS,
        "current": "reliability",
    }
    return render(request, "reliability/service.html", context)
