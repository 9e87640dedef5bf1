"""The delivery part of the demo data: three months of production deployments per team, each of
a build with its commit times, a few incidents and a rollback, so that /delivery/ shows the four
DORA keys with their bands and trends right after ``make run``.

Each team ships its small changes continuously, besides its planned releases: the builds of a
"<Team> continuous delivery" release (a draft with version "cd": its deployments do not move
it, and it takes no part in the planned releases' story), deployed to production on working
days. About 65 deployments in all: the seed stays quick.

- Payments deploys on about half of the working days, its lead time falling from about three
  days to one over the quarter. A deployment nine days ago caused the incident that spent most
  of Payments API's error budget (demo/reliability.py draws that burn), restored after 30 hours;
  one seven weeks ago caused a short one.
- Search deploys once or twice a week with lead times of two to six days. Its incidents have no
  known cause: one resolved, one still open.
- Mobile ships every second Thursday, after one to two weeks of work; its deployment closest to
  six days ago was rolled back 35 minutes later (a failed change without an incident).

Everything goes through the services (``candidate_report``, ``deployment_record``,
``incident_open``) as the team's engineer, so the changes are recorded as real ones are. A
second run changes nothing: the continuous-delivery releases exist, so nothing is added.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from approvals.readiness import services as readiness
from delivery.incidents import incident_open
from environments import services as environment_services
from environments.models import Deployment, Environment
from releases import services as release_services
from releases.models import Release, Team
from reliability.models import Service

from .reliability import _incident_start

DAYS = 91
VERSION = "cd"
CI = "https://ci.example.com/"
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Stream:
    team: str
    engineer: str  # who reports the builds and deployments, as the team's CI token would
    share: float  # of working days with a deployment
    lead_hours: tuple[float, float]  # typical lead time three months ago, and now
    every_other_week: bool = False


STREAMS = [
    Stream("payments", "alice", 0.55, (72, 22)),
    Stream("search", "bob", 0.28, (140, 60)),
    Stream("mobile", "manager", 1.0, (330, 260), every_other_week=True),
]


def _noise(key: str) -> float:
    """A repeatable number in [0, 1)."""
    return hashlib.sha256(key.encode()).digest()[0] / 256


def _local(day, hour: float) -> datetime:
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return start + timedelta(hours=hour)


def _schedule(stream: Stream, now: datetime) -> list[datetime]:
    """When the stream's deployments finished: working days over the last DAYS days."""
    today = timezone.localdate(now)
    finishes = []
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        if stream.every_other_week:
            if day.weekday() != 3 or day.isocalendar().week % 2:
                continue
        elif _noise(f"{stream.team}{day}") >= stream.share:
            continue
        finishes.append(_local(day, 10 + 6 * _noise(f"{stream.team}{day}hour")))
    return finishes


def _lead_time(stream: Stream, finished: datetime, now: datetime) -> timedelta:
    """From the first commit to production: the stream's trend, give or take a third."""
    elapsed = 1 - (now - finished) / timedelta(days=DAYS)
    early, late = stream.lead_hours
    typical = early + (late - early) * min(max(elapsed, 0.0), 1.0)
    return typical * (0.67 + 0.66 * _noise(f"{stream.team}{finished:%Y%m%d}lead")) * HOUR


def _stream_release(team: Team, actor: User, now: datetime) -> Release:
    go_live = (now - timedelta(days=DAYS + 1)).replace(hour=9, minute=0, second=0, microsecond=0)
    while release_services.freeze_windows_hit(team, go_live, go_live + HOUR):
        go_live -= timedelta(days=1)
    return release_services.release_create(
        actor=actor,
        team=team,
        name=f"{team.name} continuous delivery",
        version=VERSION,
        go_live=go_live,
        description=f"The small changes {team.name} ships continuously, besides its planned "
        "releases: each build goes to production through the pipeline, and is counted in the "
        "delivery metrics.",
        rollback_plan="Redeploy the previous build.",
    )


@dataclass
class Planned:
    stream: Stream
    release: Release
    finished: datetime
    incident: str = ""  # a key of INCIDENTS this deployment causes
    rolled_back: bool = False


# key: (title, severity, service, opened after the deployment, restored after; None: open)
CAUSED = {
    "checkout": (
        "Checkout errors after the payments deployment",
        "sev2",
        "payments-api",
        timedelta(minutes=20),
        timedelta(hours=30),
    ),
    "refunds": (
        "Partial refunds failing for one acquirer",
        "sev3",
        "payments-api",
        timedelta(hours=2),
        timedelta(minutes=45),
    ),
}
# (title, severity, service, opened before now, restored after; None: still open)
UNKNOWN_CAUSE = [
    ("Search results slow for EU shoppers", "sev3", "search-api", timedelta(days=40), 2.25 * HOUR),
    ("Intermittent 502s from the search API", "sev2", "search-api", timedelta(hours=5), None),
]


def _plan(releases: dict[str, Release], now: datetime) -> list[Planned]:
    plan = [
        Planned(stream, releases[stream.team], finished)
        for stream in STREAMS
        for finished in _schedule(stream, now)
    ]
    payments = next(s for s in STREAMS if s.team == "payments")
    # The deployment that started Payments API's bad day and a half (demo/reliability.py).
    burn = _incident_start(Service.objects.get(slug="payments-api"), now)
    plan = [p for p in plan if abs(p.finished - burn) > timedelta(hours=12)]
    plan.append(Planned(payments, releases["payments"], burn - CAUSED["checkout"][3], "checkout"))
    plan.sort(key=lambda p: p.finished)
    short = min(
        (p for p in plan if p.stream.team == "payments"),
        key=lambda p: abs(p.finished - (now - timedelta(days=50))),
    )
    short.incident = "refunds"
    mobile = [p for p in plan if p.stream.team == "mobile"]
    rolled = min(mobile, key=lambda p: abs(p.finished - (now - timedelta(days=6))))
    rolled.rolled_back = True
    return plan


def seed_delivery(*, actor: User, teams: dict[str, Team], now: datetime) -> None:
    """Once: skipped when the continuous-delivery releases exist already."""
    if Release.objects.filter(version=VERSION, team__in=teams.values()).exists():
        return
    prod = Environment.objects.get(slug="prod")
    engineers = {s.team: User.objects.get(username=s.engineer) for s in STREAMS}
    releases = {s.team: _stream_release(teams[s.team], actor, now) for s in STREAMS}
    caused: dict[str, Deployment] = {}
    previous: dict[str, str] = {}
    for number, planned in enumerate(_plan(releases, now), start=1):
        stream, engineer = planned.stream, engineers[planned.stream.team]
        lead = _lead_time(stream, planned.finished, now)
        version = f"{planned.finished:%Y.%m.%d}-{number}"
        candidate = readiness.candidate_report(
            actor=engineer,
            release=planned.release,
            version=version,
            commit_sha=hashlib.sha1(f"{stream.team}{version}".encode()).hexdigest(),
            artifact_digest="sha256:" + hashlib.sha256(version.encode()).hexdigest(),
            build_url=f"{CI}{stream.team}/builds/{number}",
            first_commit_at=planned.finished - lead,
            last_commit_at=planned.finished - min(lead / 2, 3 * HOUR),
        )
        deployment = environment_services.deployment_record(
            actor=engineer,
            environment=prod,
            candidate=candidate,
            deployed_at=planned.finished - timedelta(minutes=12),
            finished_at=planned.finished,
            move_release=False,
        )
        if planned.incident:
            caused[planned.incident] = deployment
        if planned.rolled_back:
            back = planned.finished + timedelta(minutes=35)
            environment_services.deployment_record(
                actor=engineer,
                environment=prod,
                rollback_of=deployment,
                version=previous.get(stream.team, ""),
                deployed_at=back - timedelta(minutes=8),
                finished_at=back,
                note="Crash at start-up on older Android phones: back to the previous build.",
                move_release=False,
            )
        previous[stream.team] = version
    services = {service.slug: service for service in Service.objects.all()}
    for key, (title, severity, slug, after, restored) in CAUSED.items():
        deployment = caused[key]
        opened = deployment.finished_at + after
        incident_open(
            actor=engineers["payments"],
            title=title,
            severity=severity,
            services=[services[slug]],
            opened_at=opened,
            resolved_at=opened + restored,
            url=f"https://oncall.example.com/incidents/{key}",
            deployment=deployment,
        )
    for title, severity, slug, before, restored in UNKNOWN_CAUSE:
        opened = now - before
        incident_open(
            actor=engineers["search"],
            title=title,
            severity=severity,
            services=[services[slug]],
            opened_at=opened,
            resolved_at=opened + restored if restored else None,
            url=f"https://oncall.example.com/incidents/{slug}-{opened:%Y%m%d}",
        )
