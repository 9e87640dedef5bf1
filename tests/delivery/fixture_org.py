"""A small organisation over the first quarter of 2026, built through the real services, whose
DORA keys ``test_fixture_metrics`` computed by hand.

Three teams, each with its own production environment:

- Payments (public): services ``checkout`` and ``billing``; releases PC (names checkout),
  PB (names billing) and PX (names none, so it touches both of the team's services);
- Search (public): service ``search-api``; releases S1, S2, S3 (naming none);
- Ledger (private): service ``ledger-core``; release L1; no deployment in February.

Every time below is UTC; the tests run with ``TIME_ZONE = "Europe/Berlin"`` (CET = UTC+1 until
the switch to CEST = UTC+2 on 2026-03-29 at 01:00 UTC), so the local date is noted where it
differs. A deployment starts ``DEPLOY_MINUTES`` before it finishes; its candidate's first commit
is ``lead`` hours before the finish (``None``: no candidate, so no known lead time).

``DEPLOYMENTS`` are production (and two staging) deployments, ``ROLLBACKS`` roll some of them
back, ``INCIDENTS`` are opened and resolved through ``delivery.incidents``. ``build`` creates
them all in order of time, as CI and the on-call tool would have reported them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import Group, User
from django.test import override_settings

from approvals.readiness.services import candidate_report
from delivery import incidents as incident_services
from delivery.models import Incident
from environments import services as deployments
from environments.models import Deployment, Environment
from releases import roles
from releases.models import Team
from releases.services import release_create
from reliability import services as reliability_services
from reliability.models import Service

TIME_ZONE = "Europe/Berlin"
DEPLOY_MINUTES = 10


def at(month: int, day: int, hour: int, minute: int = 0, *, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Dep:
    key: str
    release: str | None  # a key of RELEASES; None: a deployment of a bare version
    finished: datetime
    lead: float | None  # hours from the first commit to the finish; None: no candidate
    env: str = ""  # default: the release's team's production environment
    outcome: str = "succeeded"
    hotfix: bool = False


@dataclass(frozen=True)
class Rollback:
    key: str
    of: str
    finished: datetime
    outcome: str = "succeeded"


@dataclass(frozen=True)
class Inc:
    key: str
    services: tuple[str, ...]
    opened: datetime
    resolved: datetime | None
    deployment: str | None = None
    release: str | None = None
    cause_later: str | None = None  # a deployment named as the cause after it was resolved


TEAMS = {
    "payments": ("Payments", False),
    "search": ("Search", False),
    "ledger": ("Ledger", True),
}
SERVICES = {
    "checkout": "payments",
    "billing": "payments",
    "search-api": "search",
    "ledger-core": "ledger",
}
# key: (team, services named)
RELEASES = {
    "PC": ("payments", ("checkout",)),
    "PB": ("payments", ("billing",)),
    "PX": ("payments", ()),
    "S1": ("search", ()),
    "S2": ("search", ()),
    "S3": ("search", ()),
    "L1": ("ledger", ()),
}
ENVIRONMENTS = {
    "prod-payments": ("prod", "payments"),
    "prod-search": ("prod", "search"),
    "prod-ledger": ("prod", "ledger"),
    "staging": ("staging", None),
}

# fmt: off
DEPLOYMENTS = [
    # --- Payments ------------------------------------------------------------------------------
    # 23:30 CET on 31 December: before the period.
    Dep("P0", "PC", at(12, 31, 22, 30, year=2025), 1),
    # 00:30 CET on 1 January (31 December in UTC): inside the period, in January.
    Dep("P6", "PC", at(12, 31, 23, 30, year=2025), 3),
    Dep("P1", "PC", at(1, 5, 10), 2),
    Dep("P2", "PB", at(1, 8, 14), 5),
    Dep("P3", "PX", at(1, 13, 9), 26),             # caused incident I1
    Dep("P4", "PC", at(1, 20, 16), 49),
    Dep("P5", "PB", at(1, 27, 11), 8),
    Dep("P7", "PC", at(2, 3, 10), 4),
    Dep("P8", "PB", at(2, 10, 13), 10),            # rolled back twice (R8a failed, R8b succeeded)
    Dep("Pfail", "PB", at(2, 12, 10), None, outcome="failed"),  # failed: not a change
    Dep("P9", "PX", at(2, 17, 9), 30),
    Dep("P10", "PC", at(2, 19, 15), 6),            # hot-fixed 90 minutes later by P11
    Dep("P11", "PC", at(2, 19, 16, 30), 1, hotfix=True),
    Dep("P12b", "PB", at(2, 24, 12), None),        # no candidate: no lead time
    # 00:30 CET on 1 March (28 February in UTC): March.
    Dep("P12", "PB", at(2, 28, 23, 30), 7),
    Dep("P13", "PC", at(3, 4, 10), 3),             # caused incident I5 and was rolled back (R13)
    Dep("P14", "PX", at(3, 11, 12), 20),
    Dep("P15", "PB", at(3, 18, 9), 9),
    Dep("P16", "PC", at(3, 25, 10), 50),
    # A hotfix 3 hours after P16: outside the 120-minute watch window, so P16 did not fail.
    Dep("P17", "PC", at(3, 25, 13), 2, hotfix=True),
    # 00:30 CEST on 1 April (31 March in UTC): after the period.
    Dep("P18", "PC", at(3, 31, 22, 30), 1),
    # Staging deployments are not production changes.
    Dep("T1", "PC", at(1, 4, 10), 1, env="staging"),
    Dep("T2", "PB", at(2, 9, 10), 1, env="staging"),
    # --- Search --------------------------------------------------------------------------------
    Dep("S-1", "S1", at(1, 7, 10), 12),
    Dep("S-2", "S1", at(1, 14, 10), 24),
    Dep("S-3", "S1", at(1, 21, 10), 36),
    Dep("S-4", "S1", at(1, 28, 10), 48),
    Dep("S-5", "S2", at(2, 2, 9), 3),
    Dep("S-6", "S2", at(2, 9, 9), 5),              # S2's latest change before incident I2
    Dep("S-7", "S3", at(2, 12, 9), 7),
    Dep("S-8", None, at(2, 16, 9), None, env="prod-search"),  # no release: the owner's (Search)
    Dep("S-9", "S2", at(2, 20, 9), 9),             # S2 again, after I2 opened: not its cause
    Dep("S-10", "S3", at(3, 3, 10), 1),
    Dep("S-11", "S3", at(3, 10, 10), 2),
    Dep("S-14", "S3", at(3, 20, 10), 30),
    # Across the DST switch: first commit 23:00 CET on 28 March, finished 04:30 CEST on the
    # 29th: 4.5 hours elapsed (the wall clocks say 5.5).
    Dep("S-12", "S3", at(3, 29, 2, 30), 4.5),
    # 00:30 CEST on 31 March (30 March in UTC).
    Dep("S-13", "S3", at(3, 30, 22, 30), 10),
    # --- Ledger (private) ------------------------------------------------------------------------
    Dep("L-1", "L1", at(1, 9, 12), 72),
    Dep("L-2", "L1", at(1, 16, 12), 24),           # named as the cause of I6 after it was resolved
    Dep("L-3", "L1", at(1, 23, 12), 48),
    Dep("L-4", "L1", at(3, 2, 12), 6),
    Dep("L-5", "L1", at(3, 9, 12), 18),            # caused I4, still open at the period's end
    Dep("L-6", "L1", at(3, 16, 12), 30),
    Dep("L-7", "L1", at(3, 23, 12), 42),
]

ROLLBACKS = [
    Rollback("R8a", "P8", at(2, 10, 14), outcome="failed"),
    Rollback("R8b", "P8", at(2, 10, 14, 30)),
    Rollback("R13", "P13", at(3, 4, 11)),
]

INCIDENTS = [
    Inc("I1", ("checkout",), at(1, 13, 10), at(1, 13, 12), deployment="P3"),        # 2 h
    Inc("I6", ("ledger-core",), at(1, 16, 13), at(1, 16, 17), cause_later="L-2"),   # 4 h
    Inc("I2", ("search-api",), at(2, 11, 8), at(2, 11, 14), release="S2"),          # 6 h
    Inc("I3", ("billing",), at(2, 14, 9), at(2, 15, 9)),                           # 24 h, no cause
    Inc("I5", ("checkout",), at(3, 4, 10, 30), at(3, 4, 11, 30), deployment="P13"),  # 1 h
    Inc("I4", ("ledger-core",), at(3, 9, 13), None, deployment="L-5"),              # open
]
# fmt: on


@dataclass
class Org:
    manager: User
    teams: dict[str, Team]
    services: dict[str, Service]
    deployments: dict[str, Deployment]
    incidents: dict[str, Incident]


def _digest(n: int) -> str:
    return "sha256:" + f"{n:064x}"


def build() -> Org:
    """Create the organisation through the services, as the release manager."""
    with override_settings(TIME_ZONE=TIME_ZONE):
        return _build()


def _build() -> Org:
    manager = User.objects.create_user("fixture-manager", "fm@example.com", "x")
    manager.groups.add(Group.objects.get(name=roles.RELEASE_MANAGERS))
    teams = {
        slug: Team.objects.create(name=name, slug=slug, is_private=private)
        for slug, (name, private) in TEAMS.items()
    }
    services = {
        slug: reliability_services.service_create(
            actor=manager, team=teams[team], name=slug.replace("-", " ").title(), slug=slug
        )
        for slug, team in SERVICES.items()
    }
    releases = {}
    for key, (team, named) in RELEASES.items():
        release = release_create(
            actor=manager, team=teams[team], name=f"{key} release", version=key, go_live=at(1, 1, 9)
        )
        if named:
            reliability_services.release_services_set(
                actor=manager, release=release, services=[services[slug] for slug in named]
            )
        releases[key] = release
    environments = {
        slug: Environment.objects.create(
            name=slug, slug=slug, kind=kind, owner_team=teams[owner] if owner else None
        )
        for slug, (kind, owner) in ENVIRONMENTS.items()
    }

    done: dict[str, Deployment] = {}
    events = [(d.finished, d) for d in DEPLOYMENTS] + [(r.finished, r) for r in ROLLBACKS]
    for n, (_, event) in enumerate(sorted(events, key=lambda pair: pair[0]), start=1):
        start = event.finished - timedelta(minutes=DEPLOY_MINUTES)
        if isinstance(event, Rollback):
            done[event.key] = deployments.deployment_record(
                actor=manager,
                environment=done[event.of].environment,
                rollback_of=done[event.of],
                version=f"before-{event.of}",
                outcome=event.outcome,
                deployed_at=start,
                finished_at=event.finished,
                move_release=False,
            )
            continue
        release = releases[event.release] if event.release else None
        env = event.env or f"prod-{RELEASES[event.release][0]}"
        candidate = None
        if event.lead is not None:
            first_commit = event.finished - timedelta(hours=event.lead)
            candidate = candidate_report(
                actor=manager,
                release=release,
                version=f"{event.key}-build",
                commit_sha=f"{n:040x}",
                artifact_digest=_digest(n),
                first_commit_at=first_commit,
                last_commit_at=first_commit,
            )
        done[event.key] = deployments.deployment_record(
            actor=manager,
            environment=environments[env],
            release=release,
            candidate=candidate,
            version="" if candidate else f"{event.key}-version",
            outcome=event.outcome,
            deployed_at=start,
            finished_at=event.finished,
            move_release=False,
            hotfix=event.hotfix,
        )

    incidents = {}
    for spec in INCIDENTS:
        incident = incident_services.incident_open(
            actor=manager,
            title=f"Incident {spec.key}",
            severity="sev2",
            services=[services[slug] for slug in spec.services],
            opened_at=spec.opened,
            deployment=done[spec.deployment] if spec.deployment else None,
            release=releases[spec.release] if spec.release else None,
        )
        if spec.resolved is not None:
            incident = incident_services.incident_update(
                actor=manager, incident=incident, resolved_at=spec.resolved
            )
        if spec.cause_later is not None:
            incident = incident_services.incident_update(
                actor=manager, incident=incident, deployment=done[spec.cause_later]
            )
        incidents[spec.key] = incident
    return Org(manager, teams, services, done, incidents)
