"""Demo data for trying Relcal: ``python manage.py seed_demo`` (DEBUG only, idempotent).

Everything is keyed by a natural key (username, team slug, environment slug, freeze window name,
release team + version) and created only when missing, so running it again changes nothing, and
existing releases are not moved even though new ones are planned relative to today. Releases are
created and moved through their lifecycle by the services, as the demo release manager, so the
demo data obeys every rule that real data obeys.

One module although it passes 400 lines: it is one script, read top to bottom, and each section
seeds one part of the demo (people, teams, environments, releases, sign-offs, bookings).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from approvals import services as approvals
from approvals.models import DEFAULT_MEANING, Decision, Meaning
from approvals.readiness import services as readiness
from demo.delivery import seed_delivery
from demo.reliability import seed_reliability
from environments import services as environment_services
from environments.models import Booking, Environment
from releases import roles, services
from releases.models import (
    DependencyKind,
    FreezeWindow,
    GatePolicy,
    MilestoneKind,
    Release,
    ReleaseDependency,
    ReleaseState,
    Team,
)

PASSWORD = "relcal-demo"
TRACKER = "https://tracker.example.com/browse/"
S = ReleaseState

# slug: (name, colour, contact)
TEAMS = {
    "payments": ("Payments", "#d9480f", "payments-team@example.com"),
    "search": ("Search", "#2b8a3e", "search-team@example.com"),
    "mobile": ("Mobile", "#1c7ed6", "mobile-team@example.com"),
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str | None = None
    team: str | None = None
    staff: bool = False
    superuser: bool = False
    describe: str = ""


USERS = [
    DemoUser("admin", "Ada", "Admin", staff=True, superuser=True, describe="superuser"),
    DemoUser("manager", "Maya", "Manning", roles.RELEASE_MANAGERS, staff=True),
    DemoUser("product", "Priya", "Patel", roles.PRODUCT_APPROVERS, staff=True),
    DemoUser("legal", "Leo", "Lindqvist", roles.LEGAL_APPROVERS, staff=True),
    DemoUser("security", "Sam", "Sato", roles.SECURITY_APPROVERS, staff=True),
    DemoUser("alice", "Alice", "Adeyemi", roles.TEAM_MEMBERS, team="payments"),
    DemoUser("bob", "Bob", "Brennan", roles.TEAM_MEMBERS, team="search"),
    DemoUser(
        "cab",
        "Carmen",
        "Cabrera",
        roles.CHANGE_ADVISORY_BOARD,
        describe="change advisory board (waives a failing gate)",
    ),
    # The group reliability/migrations/0002_sre_role.py creates.
    DemoUser(
        "sre",
        "Sasha",
        "Reyes",
        "SRE",
        describe="SRE (overrides the error-budget gate for one release)",
    ),
]

# team -> the checks its gate policy requires of every build.
GATE_POLICIES = {
    "payments": ["unit-tests", "integration-tests"],
    "search": ["unit-tests", "security-scan"],
}
CI = "https://ci.example.com/"
# (team, version) -> the builds CI reported, oldest first: (version suffix, {check: status}).
# Releases past testing not listed here get one green build before they are signed.
BUILDS = {
    ("payments", "4.2"): [
        ("rc.1", {"unit-tests": "passed", "integration-tests": "passed"}),
        ("rc.2", {"unit-tests": "passed", "integration-tests": "failed"}),
    ],
    ("mobile", "7.5"): [("rc.1", {"unit-tests": "passed", "ui-tests": "pending"})],
}

# slug: (kind, description)
ENVIRONMENTS = {
    "dev": ("dev", "Shared development environment, reset nightly."),
    "qa": ("test", "Integration tests; CI pipelines book it through the API."),
    "staging": ("staging", "Production-like; book it for release candidates and rehearsals."),
    "prod": ("prod", "Production."),
}


@dataclass(frozen=True)
class DemoRelease:
    team: str
    version: str
    days: int  # go-live, in days from today
    state: str
    strategy: str
    scope: tuple[tuple[str, str, str], ...]  # (ticket key, title, kind)
    reason: str = ""  # for the last step, when it needs one (cancel, roll back)


# Payments 4.3 is left for the release manager's journey (../shared/JOURNEYS.md): she creates it
# herself, needing Search 2.1, and tries the cycle the other way round.
RELEASES = [
    DemoRelease(
        "payments", "4.1", -24, S.RELEASED, "canary",
        (("PAY-101", "Apple Pay in web checkout", "feature"),
         ("PAY-104", "Fix rounding of partial refunds", "fix")),
    ),
    DemoRelease(
        "search", "2.0", -12, S.RELEASED, "blue_green",
        (("SRCH-201", "Typo-tolerant product search", "feature"),
         ("SRCH-207", "Upgrade the search cluster", "chore")),
    ),
    DemoRelease(
        "mobile", "7.4", -5, S.ROLLED_BACK, "rolling",
        (("MOB-301", "Dark mode", "feature"), ("MOB-305", "Fix login on tablets", "fix")),
        reason="Crash at start-up on Android 12; rolled back to 7.3.",
    ),
    DemoRelease(
        "search", "2.1", 9, S.APPROVED, "blue_green",
        (("SRCH-210", "Search index API v2", "feature"),
         ("SRCH-214", "Patch the XML parser vulnerability", "security")),
    ),
    DemoRelease(
        "payments", "4.2", 16, S.TESTING, "canary",
        (("PAY-110", "Saved cards", "feature"),
         ("PAY-112", "3-D Secure 2 challenge flow", "security"),
         ("PAY-115", "Remove the legacy gateway client", "chore")),
    ),
    DemoRelease(
        "mobile", "7.5", 23, S.SCOPE_FROZEN, "rolling",
        (("MOB-310", "Offline basket", "feature"), ("MOB-312", "Start-up crash from 7.4", "fix")),
    ),
    DemoRelease(
        "payments", "4.4", 35, S.PLANNED, "big_bang",
        (("PAY-120", "New checkout screens", "feature"), ("PAY-121", "Checkout API v3", "feature")),
    ),
    DemoRelease(
        "mobile", "8.0", 35, S.PLANNED, "big_bang",
        (("MOB-320", "New checkout screens in the app", "feature"),),
    ),
    DemoRelease(
        "search", "2.2", 49, S.DRAFT, "canary",
        (("SRCH-220", "Personalised ranking", "feature"),),
    ),
    DemoRelease(
        "search", "3.0", 60, S.CANCELLED, "big_bang",
        (("SRCH-300", "Rewrite the query parser", "feature"),),
        reason="Superseded by the 2.x line; the rewrite is on hold.",
    ),
    DemoRelease(
        "payments", "4.5", 66, S.DRAFT, "canary",
        (("PAY-130", "Payouts by bank transfer", "feature"),),
    ),
    DemoRelease(
        "mobile", "8.1", 77, S.DRAFT, "rolling",
        (("MOB-330", "Home-screen widgets", "feature"),),
    ),
    DemoRelease(
        "payments", "5.0", 86, S.PLANNED, "blue_green",
        (("PAY-140", "Multi-currency ledger", "feature"),
         ("PAY-141", "Rotate card-vault keys", "security")),
    ),
    # Only fixes: it may ship while Search API's error budget is spent (the SRE's journey).
    DemoRelease(
        "search", "2.1.1", 12, S.PLANNED, "blue_green",
        (("SRCH-216", "Fix empty results for quoted phrases", "fix"),),
    ),
]  # fmt: skip

# Sign-offs beyond the ones every approved release needs: (team, version) -> steps, in order.
# ("sign", approver, role, decision, comment) or ("move go/no-go", hours), which makes the
# sign-offs before it stale, so the demo shows a sign-off asked for again.
SIGNOFF_STORIES = {
    ("payments", "4.2"): [
        ("sign", "product", "product", Decision.APPROVE, ""),
        ("move go/no-go", 2),
        ("sign", "legal", "legal", Decision.APPROVE, ""),
    ],
    ("mobile", "7.5"): [
        ("sign", "security", "security", Decision.REJECT,
         "The start-up crash fix (MOB-312) has no regression test yet."),
    ],
}  # fmt: skip
APPROVERS = ("product", "legal", "security")  # the demo user who signs for each role

# The states each demo release passes through, in order, from draft.
_FORWARD = [S.PLANNED, S.SCOPE_FROZEN, S.TESTING, S.APPROVED]
PATHS = {
    S.DRAFT: [],
    S.PLANNED: _FORWARD[:1],
    S.SCOPE_FROZEN: _FORWARD[:2],
    S.TESTING: _FORWARD[:3],
    S.APPROVED: _FORWARD,
    S.RELEASED: [*_FORWARD, S.DEPLOYING, S.RELEASED],
    S.ROLLED_BACK: [*_FORWARD, S.DEPLOYING, S.ROLLED_BACK],
    S.CANCELLED: [S.PLANNED, S.CANCELLED],
}

# (team, version) of the release, kind, (team, version) it depends on, note
DEPENDENCIES = [
    (("payments", "4.2"), DependencyKind.NEEDS, ("search", "2.1"), "Uses the index API v2."),
    (("payments", "4.4"), DependencyKind.TOGETHER, ("mobile", "8.0"), "One checkout redesign."),
    (("mobile", "8.1"), DependencyKind.NEEDS, ("search", "2.2"), "Widgets show ranked results."),
    (("payments", "5.0"), DependencyKind.NEEDS, ("payments", "4.5"), ""),
]


class Command(BaseCommand):
    help = "Create demo teams, users (password relcal-demo), environments and releases."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                f"seed_demo only runs with DEBUG on: it creates users whose password, "
                f"“{PASSWORD}”, is published in the README, so it must never reach a real site."
            )
        with transaction.atomic():
            now = timezone.localtime()
            users = seed_users()
            teams = seed_teams(actor=users["admin"])
            for user in USERS:
                if user.team:
                    teams[user.team].members.add(users[user.username])
            seed_environments()
            seed_gate_policies(teams)
            # Fresh from the database: the manager's permissions came with a group just now.
            manager = User.objects.get(username="manager")
            seed_freezes(actor=manager, teams=teams, now=now)
            created = seed_releases(actor=manager, teams=teams, now=now)
            seed_dependencies(actor=manager)
            seed_signoff_stories(actor=manager)
            seed_bookings(actor=manager, teams=teams, now=now)
            # Services, SLOs and their measured history (demo/reliability.py).
            seed_reliability(actor=manager, teams=teams, now=now)
            # Three months of production deployments, incidents and a rollback (demo/delivery.py).
            seed_delivery(actor=manager, teams=teams, now=now)
            # Sign-offs: all three before a release moves to approved (seed_releases), and the
            # stories of the releases still waiting, above.
        self.summary(created)

    def summary(self, created: int) -> None:
        states = Counter(Release.objects.values_list("state", flat=True))
        by_state = ", ".join(
            f"{states[state]} {S(state).label.lower()}" for state in S.values if states[state]
        )
        self.stdout.write(
            f"Demo data ready ({created} releases created this run): "
            f"{Team.objects.count()} teams, {User.objects.count()} users, "
            f"{Environment.objects.count()} environments, {FreezeWindow.objects.count()} freeze "
            f"windows, {sum(states.values())} releases ({by_state})."
        )
        self.stdout.write(f"Log in at {settings.SITE_URL}/ with password “{PASSWORD}” as:")
        for user in USERS:
            what = user.describe or user.role or ""
            if user.team:
                what = f"{TEAMS[user.team][0]} team"
            self.stdout.write(f"  {user.username:<9} {what}")
        self.stdout.write("(Users that existed before keep their password.)")


def seed_users() -> dict[str, User]:
    users = {}
    for spec in USERS:
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@example.com",
                "is_staff": spec.staff,
                "is_superuser": spec.superuser,
            },
        )
        if created:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        if spec.role:
            user.groups.add(Group.objects.get(name=spec.role))
        users[spec.username] = user
    return users


def seed_teams(*, actor: User) -> dict[str, Team]:
    teams = {}
    for slug, (name, color, contact) in TEAMS.items():
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            team = services.team_create(
                actor=actor, name=name, slug=slug, contact=contact, color=color
            )
        teams[slug] = team
    return teams


def seed_environments() -> None:
    for slug, (kind, description) in ENVIRONMENTS.items():
        Environment.objects.get_or_create(
            slug=slug,
            defaults={
                "name": slug,
                "kind": kind,
                "description": description,
                "url": f"https://{slug}.relcal.example.com",
            },
        )


def _next_weekday(now: datetime, weekday: int, hour: int, minute: int = 0) -> datetime:
    """The next such weekday (0 = Monday) after today, at a local time."""
    days = (weekday - now.weekday()) % 7 or 7
    day = (now + timedelta(days=days)).date()
    return timezone.make_aware(datetime.combine(day, datetime.min.time())).replace(
        hour=hour, minute=minute
    )


def seed_bookings(*, actor: User, teams: dict[str, Team], now: datetime) -> None:
    """Staging taken on Tuesday afternoon by Search (Alice's journey), a few more bookings,
    maintenance on dev and what is deployed where. Kept once made: a second run adds nothing."""
    envs = {env.slug: env for env in Environment.objects.all()}
    if Booking.objects.exists():
        return
    environment_services.environment_update(
        actor=actor,
        environment=envs["staging"],
        owner_team=teams["search"],
        max_booking_minutes=240,
    )
    hour = timedelta(hours=1)
    tuesday = _next_weekday(now, 1, 14)
    thursday = _next_weekday(now, 3, 9)
    bookings = [
        ("staging", "search", tuesday, tuesday + 2.5 * hour, "Load test of the new index"),
        ("staging", "payments", thursday, thursday + 3 * hour, "Release candidate rehearsal"),
        ("qa", "payments", tuesday - 4 * hour, tuesday - 2 * hour, "Integration tests"),
        ("qa", "mobile", thursday + 5 * hour, thursday + 7 * hour, "App store build checks"),
    ]
    for env, team, start, end, purpose in bookings:
        environment_services.booking_create(
            actor=actor,
            environment=envs[env],
            team=teams[team],
            start=start,
            end=end,
            purpose=purpose,
        )
    saturday = _next_weekday(now, 5, 6)
    environment_services.maintenance_window_create(
        actor=actor,
        environment=envs["dev"],
        start=saturday,
        end=saturday + 4 * hour,
        reason="Database upgrade",
    )
    seed_deployments(actor=actor, envs=envs, teams=teams, now=now)


def seed_deployments(
    *, actor: User, envs: dict[str, Environment], teams: dict[str, Team], now: datetime
) -> None:
    """What ran where: Payments 4.1's canary in production weeks ago; on qa a canary of 4.2's
    build step by step, then rolled back to 4.1 (a rehearsal of 4.2's rollback); 4.2's build on
    staging. Called once, with the bookings."""
    payments = Release.objects.filter(team=teams["payments"])
    shipped, testing = payments.get(version="4.1"), payments.get(version="4.2")
    ci = User.objects.get(username="alice")  # as the Payments pipeline's token would
    minutes = timedelta(minutes=1)
    environment_services.deployment_record(
        actor=actor,
        environment=envs["prod"],
        release=shipped,
        strategy="canary",
        planned_steps=[5, 25, 100],
        deployed_at=shipped.go_live,
        finished_at=shipped.go_live + 40 * minutes,
        note="Recorded by hand: the canary was watched for 40 minutes, error rate flat.",
    )
    environment_services.deployment_record(
        actor=ci,
        environment=envs["qa"],
        release=shipped,
        deployed_at=now - timedelta(days=3),
        finished_at=now - timedelta(days=3) + 6 * minutes,
    )
    canary = environment_services.deployment_start(
        actor=ci,
        environment=envs["qa"],
        candidate=testing.candidates.order_by("-id").first(),
        strategy="canary",
        planned_steps=[10, 50, 100],
        client_id="demo-payments-4.2-qa",
    )
    for percent in (10, 50, 100):
        environment_services.deployment_step(actor=ci, deployment=canary, percent=percent)
    environment_services.deployment_finish(actor=ci, deployment=canary, outcome="succeeded")
    rehearsal = environment_services.deployment_rollback(
        actor=ci, deployment=canary, note="Rehearsal of the rollback before the go-live."
    )
    environment_services.deployment_finish(actor=ci, deployment=rehearsal, outcome="succeeded")
    environment_services.deployment_report(
        actor=ci, environment=envs["staging"], version="4.2-rc.1", release=testing
    )


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def seed_freezes(*, actor: User, teams: dict[str, Team], now: datetime) -> None:
    # The coming year end, or the current one while it lasts: Dec 20 to Jan 3, both included.
    year = now.year - 1 if (now.month, now.day) < (1, 4) else now.year
    start, end = _local_midnight(date(year, 12, 20)), _local_midnight(date(year + 1, 1, 4))
    freezes = [
        (f"Year-end freeze {year}", start, end, None, "Reduced staffing over the holidays."),
        (
            "Payments peak-season freeze",
            _local_midnight(now.date() + timedelta(days=42)),
            _local_midnight(now.date() + timedelta(days=45)),
            teams["payments"],
            "Peak card traffic: no payment changes.",
        ),
    ]
    for name, start, end, team, reason in freezes:
        if not FreezeWindow.objects.filter(name=name).exists():
            services.freeze_window_create(
                actor=actor, name=name, start=start, end=end, team=team, reason=reason
            )


def _go_live(team: Team, days: int, now: datetime) -> datetime:
    go_live = now.replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=days)
    # Demo releases stay clear of every freeze, so planning them never needs an override.
    while services.freeze_windows_hit(team, go_live, go_live + timedelta(hours=2)):
        go_live += timedelta(days=1)
    return go_live


def _milestones(go_live: datetime, now: datetime) -> list[dict]:
    local = timezone.localtime(go_live)
    moments = [
        (MilestoneKind.SCOPE_FREEZE, {"date": (local - timedelta(days=21)).date()}),
        (MilestoneKind.CODE_FREEZE, {"date": (local - timedelta(days=10)).date()}),
        (MilestoneKind.RELEASE_CANDIDATE, {"at": (local - timedelta(days=7)).replace(hour=14)}),
        (MilestoneKind.GO_NO_GO, {"at": (local - timedelta(days=1)).replace(hour=16)}),
        (MilestoneKind.GO_LIVE, {"at": go_live}),
    ]
    return [
        {"kind": kind, **when, "done": (when.get("at") or _local_midnight(when["date"])) < now}
        for kind, when in moments
    ]


def seed_releases(*, actor: User, teams: dict[str, Team], now: datetime) -> int:
    owners = {spec.team: spec.username for spec in USERS if spec.team}
    created = 0
    for spec in RELEASES:
        team = teams[spec.team]
        if Release.objects.filter(team=team, version=spec.version).exists():
            continue  # never move or change a release a previous run created
        go_live = _go_live(team, spec.days, now)
        release = services.release_create(
            actor=actor,
            team=team,
            name=f"{team.name} {spec.version}",
            version=spec.version,
            go_live=go_live,
            window_end=go_live + timedelta(hours=2),
            strategy=spec.strategy,
            description=f"{team.name} release {spec.version}: {spec.scope[0][1].lower()} and more.",
            rollback_plan="Redeploy the previous version; the database changes are additive.",
        )
        for fields in _milestones(go_live, now):
            services.milestone_create(actor=actor, release=release, **fields)
        owner = User.objects.filter(username=owners.get(spec.team)).first()
        for key, title, kind in spec.scope:
            services.scope_item_create(
                actor=actor,
                release=release,
                title=title,
                kind=kind,
                ticket_key=key,
                ticket_url=f"{TRACKER}{key}",
                owner=owner,
            )
        seed_builds(release, spec)
        for to_state in PATHS[spec.state]:
            if to_state == S.APPROVED:
                sign_all(release)  # the gate in front of approved asks for every sign-off
            reason = (
                spec.reason if services.transition_needs_reason(release.state, to_state) else ""
            )
            services.release_transition(
                actor=actor, release=release, to_state=to_state, reason=reason
            )
            release.state = to_state
        created += 1
    return created


def seed_gate_policies(teams: dict[str, Team]) -> None:
    for slug, checks in GATE_POLICIES.items():
        GatePolicy.objects.get_or_create(
            team=teams[slug],
            defaults={"name": f"{teams[slug].name} gates", "required_checks": checks},
        )


def seed_builds(release: Release, spec: DemoRelease) -> None:
    """What CI reported for the release, before anyone signed it (the build is signed too)."""
    if spec.state in (S.DRAFT, S.PLANNED, S.CANCELLED):
        return
    policy_checks = GATE_POLICIES.get(spec.team, ["unit-tests"])
    builds = BUILDS.get((spec.team, spec.version)) or [
        ("rc.1", dict.fromkeys(policy_checks, "passed"))
    ]
    # The team's engineer reports, as a CI token of the team would; the manager for Mobile.
    member = next((u.username for u in USERS if u.team == spec.team), "manager")
    ci = User.objects.get(username=member)
    for number, (suffix, checks) in enumerate(builds, start=1):
        commit = f"{spec.team}-{spec.version}-{suffix}"
        candidate = readiness.candidate_report(
            actor=ci,
            release=release,
            version=f"{spec.version}.0-{suffix}",
            commit_sha=hashlib.sha1(commit.encode()).hexdigest(),
            artifact_digest="sha256:"
            + hashlib.sha256(f"{release.pk}-{suffix}".encode()).hexdigest(),
            build_url=f"{CI}{spec.team}/builds/{release.pk * 10 + number}",
        )
        for name, status in checks.items():
            readiness.check_report(
                actor=ci,
                candidate=candidate,
                name=name,
                status=status,
                url=f"{CI}{spec.team}/builds/{release.pk * 10 + number}#{name}",
                summary="3 of 412 failed" if status == "failed" else "",
            )


def _sign(release: Release, username: str, role: str, decision: str, comment: str = "") -> None:
    signer = User.objects.get(username=username)
    meaning = DEFAULT_MEANING[role] if decision == Decision.APPROVE else Meaning.NOT_APPROVED
    try:
        approvals.signoff_record(
            actor=signer,
            release=release,
            role=role,
            decision=decision,
            meaning=meaning,
            comment=comment,
            password=PASSWORD,
        )
    except ValidationError as error:
        raise CommandError(
            f"Could not sign {release} off as {username}: {' '.join(error.messages)} "
            f"(signing needs the demo password, “{PASSWORD}”)."
        ) from error


def sign_all(release: Release) -> None:
    for username in APPROVERS:
        _sign(release, username, username, Decision.APPROVE)


def seed_signoff_stories(*, actor: User) -> None:
    """After the dependencies, which are part of what is signed. A release that has sign-offs
    already keeps them as they are."""
    for (team, version), steps in SIGNOFF_STORIES.items():
        release = Release.objects.filter(team__slug=team, version=version).first()
        if release is None or release.signoffs.exists():
            continue
        tell_signoff_story(actor, release, steps)


def tell_signoff_story(actor: User, release: Release, steps: list[tuple]) -> None:
    for step in steps:
        if step[0] == "sign":
            _, username, role, decision, comment = step
            _sign(release, username, role, decision, comment)
        else:
            go_no_go = release.milestones.get(kind=MilestoneKind.GO_NO_GO)
            services.milestone_update(
                actor=actor, milestone=go_no_go, at=go_no_go.at + timedelta(hours=step[1])
            )


def seed_dependencies(*, actor: User) -> None:
    releases = {(r.team.slug, r.version): r for r in Release.objects.select_related("team")}
    for source, kind, target, note in DEPENDENCIES:
        release, depends_on = releases.get(source), releases.get(target)
        if release is None or depends_on is None:
            continue  # someone deleted a demo release; leave the rest as it is
        linked = ReleaseDependency.objects.filter(
            release__in=[release, depends_on], depends_on__in=[release, depends_on]
        )
        if not linked.exists():
            services.dependency_create(
                actor=actor, release=release, depends_on=depends_on, kind=kind, note=note
            )
