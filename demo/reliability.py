"""The reliability part of the demo data: services, SLOs, 28 days of pushed measurements and
the burn-down behind each chart, so that /reliability/ has something to show right after
``make run``.

- Payments API, "checkout success" (99.5 % over 28 days, pushed hourly): a bad day and a half
  after a production deployment nine days ago spent most of the budget: at risk.
- Payments API, "availability" (99.9 %, Prometheus at ``RELCAL_PROMETHEUS_URL``): the demo has
  no Prometheus, so it honestly shows "no data".
- Search API, "query latency < 300 ms" (99 %, pushed hourly): healthy.

The measurements go through ``measurement_push`` as the team's engineer would push them; the
chart's history (an evaluation every two hours over the window) is computed from them with the
evaluation's own arithmetic (``reliability.budget``), then the SLOs are evaluated once for now.
An SLO that exists already is left as it is: a second run changes nothing.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User

from environments.models import Deployment, EnvironmentKind
from releases.models import Team
from reliability import budget, evaluation, services
from reliability.models import SLO, Service, SLISource, SLOSnapshot
from reliability.policy import policy_for

HOUR = timedelta(hours=1)
WINDOW_DAYS = 28
SNAPSHOT_EVERY = timedelta(hours=2)

# slug: (name, team, description)
SERVICES = {
    "payments-api": ("Payments API", "payments", "Card authorisation, capture and refunds."),
    "search-api": ("Search API", "search", "Query serving for the shop's search box."),
}


@dataclass(frozen=True)
class Pushed:
    service: str
    name: str
    objective: str
    engineer: str  # who pushes the measurements
    requests: int  # an hour
    errors: float  # the usual share of bad events
    incident: float = 0.0  # the share of bad events during the incident
    incident_hours: int = 0


PUSHED = [
    Pushed("payments-api", "checkout success", "99.5", "alice", 36_000, 0.001, 0.065, 30),
    Pushed("search-api", "query latency < 300 ms", "99", "bob", 90_000, 0.003),
]


def _noise(key: str) -> float:
    """A repeatable number in [0.75, 1.25): demo traffic that is never quite flat."""
    digest = hashlib.sha256(key.encode()).digest()
    return 0.75 + digest[0] / 512


def _incident_start(service: Service, now: datetime) -> datetime:
    """The latest production deployment of the service's team between 2 and 20 days ago, or
    nine days ago: the incident follows it."""
    deployed = (
        Deployment.objects.filter(
            environment__kind=EnvironmentKind.PROD,
            release__team=service.team_id,
            deployed_at__gte=now - timedelta(days=20),
            deployed_at__lte=now - timedelta(days=2),
        )
        .order_by("-deployed_at")
        .values_list("deployed_at", flat=True)
        .first()
    )
    return deployed or now - timedelta(days=9)


def _measurements(spec: Pushed, service: Service, now: datetime) -> list[dict]:
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=WINDOW_DAYS) + HOUR
    incident = _incident_start(service, now) if spec.incident_hours else None
    rows, moment = [], start
    while moment < end:
        total = round(spec.requests * _noise(f"{spec.name}{moment:%d%H}"))
        share = spec.errors * _noise(f"{spec.name}{moment:%H%d}")
        if incident is not None and incident <= moment < incident + spec.incident_hours * HOUR:
            share = spec.incident
        bad = round(total * share)
        rows.append({"start": moment, "end": moment + HOUR, "good": total - bad, "total": total})
        moment += HOUR
    return rows


def _history(slo: SLO, rows: list[dict], now: datetime) -> list[SLOSnapshot]:
    """The snapshots an evaluation every two hours would have stored over the window."""
    at_risk_below = policy_for(slo.service.team_id).at_risk_below
    objective = budget.objective_of(slo)
    keys = [budget.slo_window(slo.window_days), *budget.WINDOWS]
    spans = {key: timedelta(minutes=budget.window_minutes(key)) for key in keys}
    # Running sums over the rows (ordered by end): a window's sums are two differences.
    ends = [row["end"] for row in rows]
    good, total = [0], [0]
    for row in rows:
        good.append(good[-1] + row["good"])
        total.append(total[-1] + row["total"])
    snapshots, moment = [], rows[0]["end"]
    while moment < now - SNAPSHOT_EVERY:
        readings = {}
        last = bisect_right(ends, moment)
        for key, span in spans.items():
            first = bisect_right(ends, moment - span)
            readings[key] = (good[last] - good[first], total[last] - total[first])
        figures = budget.figures(
            readings, objective=objective, window_days=slo.window_days, at_risk_below=at_risk_below
        )
        snapshots.append(
            SLOSnapshot(
                slo=slo,
                at=moment,
                state=figures.state,
                alert=figures.alert,
                sli=figures.sli,
                budget_remaining=figures.budget_remaining,
                burn_rates=figures.burn_rates,
            )
        )
        moment += SNAPSHOT_EVERY
    return snapshots


def seed_reliability(*, actor: User, teams: dict[str, Team], now: datetime) -> None:
    """Services and SLOs with a history; each created only when missing."""
    by_slug = {}
    for slug, (name, team, description) in SERVICES.items():
        service = Service.objects.filter(slug=slug).first()
        if service is None:
            service = services.service_create(
                actor=actor, team=teams[team], name=name, slug=slug, description=description
            )
        by_slug[slug] = service
    for spec in PUSHED:
        service = by_slug[spec.service]
        if service.slos.filter(name=spec.name).exists():
            continue
        slo = services.slo_create(
            actor=actor,
            service=service,
            name=spec.name,
            objective=Decimal(spec.objective),
            source=SLISource.PUSHED,
            window_days=WINDOW_DAYS,
        )
        rows = _measurements(spec, service, now)
        engineer = User.objects.get(username=spec.engineer)
        services.measurement_push(actor=engineer, slo=slo, measurements=rows, now=now)
        SLOSnapshot.objects.bulk_create(_history(slo, rows, now))
        evaluation.evaluate(slo, now=now)
    payments = by_slug["payments-api"]
    if not payments.slos.filter(name="availability").exists():
        slo = services.slo_create(
            actor=actor,
            service=payments,
            name="availability",
            objective=Decimal("99.9"),
            source=SLISource.PROMETHEUS,
            good_query='sum(rate(http_requests_total{job="payments",code!~"5.."}[$window]))',
            total_query='sum(rate(http_requests_total{job="payments"}[$window]))',
            # There is no Prometheus in the demo: the SLO shows "no data", as it should.
            test_queries=False,
        )
        evaluation.evaluate(slo, now=now)
