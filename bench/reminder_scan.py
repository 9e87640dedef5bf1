"""Benchmark: the reminder scan with 1,000 and 100,000 future items, 10 of them due.

Run from the project root:

    .venv/bin/python bench/reminder_scan.py                    # SQLite and PostgreSQL
    .venv/bin/python bench/reminder_scan.py --only sqlite      # or --only postgresql
    .venv/bin/python bench/reminder_scan.py --explain          # and the query plans at 100,000

Per database, the two datasets are built side by side, each by its own process: two temporary
SQLite files, or two schemas of a scratch PostgreSQL database (``relcal_bench_scan`` on the
server of ``BENCH_POSTGRES_URL``, default ``postgres://postgres@127.0.0.1:5432/relcal_bench_scan``,
created and dropped again). The two processes are then timed in alternation, so that whatever
else runs on the machine weighs on both sizes alike.

The scan looks at ``now`` (02:00 local time, three days ahead). Ten reminders fall due in its
window: six milestones (four timed and one all-day in three days, one timed in a day), a release
state change, two confirmed bookings starting within 15 minutes and an active one ending within
15 minutes. Around them, bulk-inserted: the future items (milestones of draft and planned
releases, mostly timed and some all-day, confirmed bookings over many environments and freeze
windows, spread from one week to a year ahead) and some history (released releases, their
milestones and transitions, expired bookings, granted waitlist entries, sent deliveries). Three
releases await sign-off in both datasets.

Timed: ``scanning.scan(now=...)`` (the periodic task's body, enqueueing made a no-op: no broker),
``scanning.collect(now)`` alone and each rule alone; the ``Delivery`` rows a run created are
deleted before the next one, untimed, so that every run does the same work. The ratio of the
100,000 median to the 1,000 median must stay below 2, with the same due reminders and the same
number of queries (exit status 1 otherwise): the rules read an index range each, they do not
scan. The plans of the scan's queries on the tables that grow are checked for full scans.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path

import harness

SIZES = (1_000, 100_000)
DUE = 10  # reminders due in the scan window, at either size
RUNS = 15  # timed scans per size (median)
WARMUP = 2
TEAMS = 20
MEMBERS = 4  # per team, with an email address (and one more without)
AWAITING = 3  # releases awaiting sign-off, at either size
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/relcal_bench_scan"
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
# Tables that grow with the dataset: a query on one of them must read an index range.
BIG_TABLES = (
    "releases_release",
    "releases_release_watchers",
    "releases_milestone",
    "releases_releasetransition",
    "releases_freezewindow",
    "environments_booking",
    "environments_waitlistentry",
    "relcal_delivery",
)


def _setup_django(database_url: str) -> None:
    # Freezing a scope asks for a scan through the broker: keep that message in memory, not in
    # the project's var/broker where a running worker would pick it up.
    harness.setup_django(database_url, CELERY_BROKER_URL="memory://")
    from django.conf import settings

    # As in production: with DEBUG on, Django logs every query, which costs time per query and
    # fills the 9,000-entry log CaptureQueriesContext counts in (full, it counts nothing).
    settings.DEBUG = False


def _scan_moment() -> datetime:
    """02:00 local time three days ahead: the window (20:00, 02:00] spans a midnight, so an
    all-day milestone's reminder (due at local midnight) can fall in it."""
    from django.utils import timezone

    day = timezone.localdate() + 3 * DAY
    return timezone.make_aware(datetime.combine(day, clock(2)))


# --- The data ------------------------------------------------------------------------------------


def _people() -> dict:
    """Teams with members (emails), a release manager, approvers, a webhook, two preferences."""
    from django.contrib.auth.models import Group, User

    from releases import roles
    from releases.models import Team
    from reminders.models import NotificationPreference, Webhook

    def user(username: str, *groups: str, email: bool = True) -> User:
        person = User.objects.create_user(
            username, f"{username}@example.com" if email else "", first_name=username.title()
        )
        for name in groups:
            person.groups.add(Group.objects.get(name=name))
        return person

    manager = user("manager", roles.RELEASE_MANAGERS)
    for group in (roles.PRODUCT_APPROVERS, roles.LEGAL_APPROVERS, roles.SECURITY_APPROVERS):
        user(group.split()[0].lower(), group)
    teams, members = [], []
    for t in range(TEAMS):
        team = Team.objects.create(name=f"Team {t}", slug=f"team-{t}")
        crew = [user(f"t{t}m{m}", roles.TEAM_MEMBERS) for m in range(MEMBERS)]
        team.members.add(*crew, user(f"t{t}quiet", roles.TEAM_MEMBERS, email=False))
        teams.append(team)
        members.append(crew)
    Webhook.objects.create(team=teams[0], name="#team-0", url="https://hooks.example.com/t0")
    # One member reads milestone reminders in the digest, one never wants booking reminders.
    NotificationPreference.objects.create(
        user=members[0][1], kind="milestone.upcoming", mode="digest"
    )
    NotificationPreference.objects.create(user=members[1][1], kind="booking.starting", mode="muted")
    return {"manager": manager, "teams": teams, "members": members}


def _awaiting(now: datetime, people: dict) -> None:
    """Releases awaiting sign-off, through the services (the scope freeze takes the default
    policy's requirements). Requested at noon, so their daily reminder is not due at 02:00;
    go-live in ten days, so no escalation either."""
    from approvals.models import ReleaseRequirement
    from releases import services
    from releases.models import ReleaseTransition

    manager = people["manager"]
    for n in range(AWAITING):
        release = services.release_create(
            actor=manager,
            team=people["teams"][n],
            name=f"Awaiting {n}",
            version=f"awaiting-{n}",
            go_live=now + 10 * DAY + n * HOUR,
        )
        for state in ("planned", "scope_frozen", "testing")[: 2 + n % 2]:
            services.release_transition(actor=manager, release=release, to_state=state)
        ReleaseRequirement.objects.filter(release=release).update(
            taken_at=now - 3 * DAY + 10 * HOUR
        )
        ReleaseTransition.objects.filter(release=release).update(at=now - 3 * DAY + 10 * HOUR)


def _due(now: datetime, people: dict) -> None:
    """The ten reminders due in (now - 6 h, now]."""
    from django.utils import timezone

    from environments.models import Booking, Environment
    from releases.models import Milestone, Release, ReleaseTransition

    manager, teams, members = people["manager"], people["teams"], people["members"]
    moments = [
        ("code_freeze", {"at": now + 3 * DAY - HOUR / 2}),  # 3-day reminder, 30 min ago
        ("code_freeze", {"at": now + 3 * DAY - 3 * HOUR / 2}),
        ("release_candidate", {"at": now + 3 * DAY - 5 * HOUR / 2}),
        ("go_no_go", {"at": now + 3 * DAY - 7 * HOUR / 2}),
        ("scope_freeze", {"date": timezone.localdate(now) + 3 * DAY}),  # due at local midnight
        ("go_no_go", {"at": now + DAY - 2 * HOUR}),  # 1-day reminder, two hours ago
    ]
    for n, (kind, when) in enumerate(moments):
        release = Release.objects.create(
            team=teams[n],
            name=f"Due {n}",
            version=f"due-{n}",
            go_live=now + 5 * DAY + n * HOUR,
            state="planned",
            manager=manager,
        )
        release.watchers.add(members[(n + 1) % TEAMS][0])
        Milestone.objects.create(release=release, kind=kind, **when)
        # Created three weeks ago; planned ten days ago, or (the first) an hour ago by a member
        # of its team: the state change is due too, for the watcher and the manager.
        ReleaseTransition.objects.create(
            release=release, from_state="draft", to_state="draft", at=now - 20 * DAY
        )
        ReleaseTransition.objects.create(
            release=release,
            from_state="draft",
            to_state="planned",
            actor=members[n][2],
            at=now - HOUR if n == 0 else now - 10 * DAY,
        )
    for n, (state, start, end) in enumerate(
        [
            ("confirmed", now + 5 * MINUTE, now + 2 * HOUR),  # starting in 15 minutes
            ("confirmed", now + 10 * MINUTE, now + 3 * HOUR),
            ("active", now - HOUR, now + 10 * MINUTE),  # ending in 15 minutes
        ]
    ):
        environment = Environment.objects.create(name=f"due-{n}", slug=f"due-{n}", kind="test")
        Booking.objects.create(
            environment=environment,
            team=teams[n],
            booked_by=members[n][1],
            purpose=f"due {n}",
            start=start,
            end=end,
            state=state,
        )


def _fill(count: int, tag: str, now: datetime, people: dict) -> None:
    """``count`` future items, one week to a year ahead: 60% milestones (four per draft or
    planned release: one all-day, three timed), 1% freeze windows, the rest confirmed bookings
    (on environments of ~800 bookings each, never overlapping); and history in the past."""
    from django.db import connection

    from environments.models import Booking, Environment, WaitlistEntry
    from releases.models import FreezeWindow, Milestone, Release, ReleaseTransition
    from reminders.models import Delivery

    rng = random.Random(count)
    manager, teams, members = people["manager"], people["teams"], people["members"]
    everyone = [m for crew in members for m in crew]
    batch = 5_000

    def quarter(moment: datetime) -> datetime:
        return moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)

    # Releases: future ones (draft or planned) and released ones (history).
    future = count * 60 // 100 // 4
    past = count // 20
    releases = Release.objects.bulk_create(
        [
            Release(
                team=rng.choice(teams),
                name=f"{tag} {n}",
                version=f"{tag}-{n}",
                manager=manager,
                go_live=quarter(now + 21 * DAY + rng.random() * 344 * DAY),
                state=rng.choice(("draft", "planned")),
            )
            for n in range(future)
        ]
        + [
            Release(
                team=rng.choice(teams),
                name=f"{tag} old {n}",
                version=f"{tag}-old-{n}",
                manager=manager,
                go_live=quarter(now - 2 * DAY - rng.random() * 363 * DAY),
                state="released",
            )
            for n in range(past)
        ],
        batch_size=batch,
    )
    milestones, transitions = [], []
    for release in releases:
        go_live = release.go_live
        done = release.state == "released"
        milestones.append(
            Milestone(
                release=release,
                kind="scope_freeze",
                date=(go_live - 14 * DAY).date(),
                done=done,
            )
        )
        milestones.append(
            Milestone(release=release, kind="code_freeze", at=go_live - 7 * DAY, done=done)
        )
        if not done:
            milestones.append(
                Milestone(release=release, kind="release_candidate", at=go_live - 3 * DAY)
            )
            milestones.append(Milestone(release=release, kind="go_no_go", at=go_live - 2 * HOUR))
        created = now - DAY - rng.random() * 200 * DAY
        if done:
            created = go_live - 30 * DAY
            transitions.append(
                ReleaseTransition(
                    release=release, from_state="deploying", to_state="released", at=go_live
                )
            )
        transitions.append(
            ReleaseTransition(
                release=release, from_state="draft", to_state=release.state, at=created
            )
        )
    Milestone.objects.bulk_create(milestones, batch_size=batch)
    ReleaseTransition.objects.bulk_create(transitions, batch_size=batch)
    Release.watchers.through.objects.bulk_create(
        [
            Release.watchers.through(release_id=release.pk, user_id=rng.choice(everyone).pk)
            for release in releases
        ],
        batch_size=batch,
    )

    def freeze(n: int) -> FreezeWindow:
        start = quarter(now + 7 * DAY + rng.random() * 350 * DAY)
        return FreezeWindow(
            name=f"{tag} freeze {n}",
            start=start,
            end=start + rng.choice((1, 2, 3)) * DAY,
            team=rng.choice([None, *teams]),  # one in 21 freezes every team
        )

    freezes = count // 100
    FreezeWindow.objects.bulk_create([freeze(n) for n in range(freezes)], batch_size=batch)

    # Bookings: confirmed ones ahead, expired or released early ones behind (the same
    # environments). Each sits in its own slot of the environment's calendar: no overlaps.
    bookings = count - 4 * future - freezes
    environments = Environment.objects.bulk_create(
        [
            Environment(name=f"{tag}-{e}", slug=f"{tag}-{e}", kind="test")
            for e in range(max(5, bookings // 800))
        ]
    )

    def slots(total: int, first: datetime, span: timedelta, states) -> list:
        rows, per = [], -(-total // len(environments))
        width = span / per
        for n in range(total):
            environment = environments[n % len(environments)]
            start = quarter(first + (n // len(environments)) * width + rng.random() * width / 4)
            length = max(HOUR, quarter(start + min(width / 2, rng.randint(1, 8) * HOUR)) - start)
            state = rng.choice(states)
            rows.append(
                Booking(
                    environment=environment,
                    team=rng.choice(teams),
                    booked_by=rng.choice(everyone),
                    purpose=f"{tag} booking {n}",
                    start=start,
                    end=start + length,
                    state=state,
                    ended_at=None if state == "confirmed" else start + length,
                )
            )
        return rows

    Booking.objects.bulk_create(
        slots(bookings, now + 7 * DAY, 358 * DAY, ("confirmed",)), batch_size=batch
    )
    history = slots(count // 10, now - 365 * DAY, 363 * DAY, ("expired", "released_early"))
    history = Booking.objects.bulk_create(history, batch_size=batch)
    WaitlistEntry.objects.bulk_create(
        [
            WaitlistEntry(
                environment=booking.environment,
                team=booking.team,
                start=booking.start,
                end=booking.end,
                purpose=booking.purpose,
                requested_by=booking.booked_by,
                created_at=booking.start - 3 * DAY,
                state="granted",
                granted_booking=booking,
                granted_at=booking.start - DAY,
            )
            for booking in history[::2]
        ],
        batch_size=batch,
    )
    Delivery.objects.bulk_create(
        [
            Delivery(
                kind="booking.starting",
                object_type="environments.booking",
                object_id=booking.pk,
                recipient_id=booking.booked_by_id,
                due=booking.start - 15 * MINUTE,
                next_attempt_at=booking.start - 15 * MINUTE,
                state="sent",
                attempts=1,
                sent_at=booking.start - 15 * MINUTE,
                subject=f"Your booking of {booking.environment.name} starts in 15 minutes",
            )
            for booking in history
        ],
        batch_size=batch,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _counts() -> dict:
    from environments.models import Booking
    from releases.models import FreezeWindow, Milestone, ReleaseTransition
    from reminders.models import Delivery

    return {
        "milestones": Milestone.objects.filter(done=False).count(),
        "bookings": Booking.objects.filter(state__in=("confirmed", "active")).count(),
        "freezes": FreezeWindow.objects.count(),
        "history": (
            Milestone.objects.filter(done=True).count()
            + Booking.objects.exclude(state__in=("confirmed", "active")).count()
            + ReleaseTransition.objects.count()
            + Delivery.objects.count()
        ),
    }


# --- One dataset's process -----------------------------------------------------------------------


def _prepare(now: datetime, explain: bool) -> tuple[dict, dict]:
    """What the parent may ask this process to time (name -> action, reset, check), and the
    figures that need no clock: the due reminders, the deliveries, queries, plans."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from approvals.models import AuditEvent
    from reminders import conf, registry
    from reminders import scan as scanning
    from reminders.models import Delivery

    kinds = registry.kinds()
    since = now - conf.stale_after()
    watermark = Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    handed: list[int] = []
    scanning.hand_over = lambda task, ids, rows: handed.append(len(ids))  # no broker

    def reset() -> None:
        handed.clear()
        Delivery.objects.filter(pk__gt=watermark).delete()

    def made() -> int:
        return Delivery.objects.filter(pk__gt=watermark).count()

    def counted(action) -> int:
        reset()
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            action()
        return len(queries)

    found = {name: len(list(kind.rule(now, since))) for name, kind in kinds.items()}
    assert sum(found.values()) == DUE, f"expected {DUE} due reminders, found {found}"
    scan_queries = counted(lambda: scanning.scan(now=now))
    deliveries, ids = made(), handed[0]
    collect_queries = counted(lambda: scanning.collect(now))
    assert made() == deliveries, (made(), deliveries)

    def check_scan() -> None:
        assert made() == deliveries and handed[0] == ids, (made(), handed)

    def check_collect() -> None:
        assert made() == deliveries, made()

    actions = {
        "scan": (lambda: scanning.scan(now=now), reset, check_scan),
        "collect": (lambda: scanning.collect(now), reset, check_collect),
    }
    rules = {}
    for name, kind in kinds.items():
        actions[f"rule {name}"] = (lambda kind=kind: list(kind.rule(now, since)), reset, None)
        rules[name] = counted(lambda kind=kind: list(kind.rule(now, since)))
    reset()
    queries = _scan_queries(now)
    reset()
    plans = [(sql, _plan(sql, params)) for sql, params in queries]
    report = {
        "due": found,
        "deliveries": deliveries,
        "handed_over": ids,
        "scan_queries": scan_queries,
        "collect_queries": collect_queries,
        "rule_queries": rules,
        "full_scans": [
            f"{line.strip()}  <-  {_short(sql)}"
            for sql, plan in plans
            for line in plan
            if _reads_whole_table(line)
        ],
        "plans": [{"sql": _short(sql), "plan": plan} for sql, plan in plans] if explain else None,
        "audit_events": AuditEvent.objects.count(),
    }
    return actions, report


def _scan_queries(now: datetime) -> list[tuple[str, tuple]]:
    """The SELECTs one scan sends to the tables that grow, with their bound parameters (the
    SQL Django logs has them inlined, which SQLite may plan differently)."""
    from django.db import connection

    from reminders import scan as scanning

    seen: list[tuple[str, tuple]] = []

    def record(execute, sql, params, many, context):
        grows = any(f'"{table}"' in sql for table in BIG_TABLES)
        if sql.startswith("SELECT") and grows and all(sql != known for known, _ in seen):
            seen.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        scanning.scan(now=now)
    return seen


def _plan(sql: str, params: tuple) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return [row[-1] for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN {sql}", params)
        return [row[0] for row in cursor.fetchall()]


def _short(sql: str) -> str:
    """The query without its column list."""
    return f"SELECT … {sql[sql.index(' FROM ') + 1 :]}"[:400]


def _reads_whole_table(line: str) -> bool:
    """A plan line reading all of a growing table: SQLite's ``SCAN t`` (with or without an
    index: in index order is still every row), PostgreSQL's ``Seq Scan on t``."""
    found = re.match(r"\s*(?:->\s*)?(?:SCAN|Seq Scan on) (\w+)", line.replace('"', ""))
    return bool(found) and found.group(1) in BIG_TABLES


def _child(url: str, size: int, explain: bool) -> None:
    """Build one dataset, report on it, then time what the parent asks for, one call per line
    on stdin (the reply, a JSON line on stdout), until told to quit."""
    reply, sys.stdout = sys.stdout, sys.stderr  # the pipe to the parent carries only replies
    _setup_django(url)
    from approvals.models import AuditEvent

    began = time.perf_counter()
    now = _scan_moment()
    people = _people()
    _awaiting(now, people)
    _due(now, people)
    _fill(size, f"s{size}", now, people)
    filled = time.perf_counter() - began
    actions, report = _prepare(now, explain)
    print(json.dumps({**report, "items": _counts(), "fill_s": filled}), file=reply, flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        action, reset, check = actions[line.strip()]
        reset()
        began = time.perf_counter()
        action()
        elapsed = time.perf_counter() - began
        if check:
            check()
        print(json.dumps({"ms": elapsed * 1000}), file=reply, flush=True)
    # Timing changed nothing but Delivery rows: no booking expired, no audit event written.
    assert AuditEvent.objects.count() == report["audit_events"]


# --- The parent ----------------------------------------------------------------------------------


class _Dataset:
    """A child process holding one dataset; ``ask`` sends it a line and reads its reply."""

    def __init__(self, url: str, size: int, explain: bool, folder: str) -> None:
        self.log = Path(folder) / f"child-{size}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--child", url, "--size", str(size)]
                + ["--explain"] * explain,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                cwd=harness.ROOT,
            )

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            sys.stderr.write(self.log.read_text())
            raise RuntimeError(f"the benchmark process exited with {self.process.returncode}")
        return json.loads(line)

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            if self.process.wait(timeout=60):
                sys.stderr.write(self.log.read_text())
                raise RuntimeError("the benchmark process failed on exit")


def _alternate(datasets: dict, command: str) -> dict:
    """``WARMUP + RUNS`` rounds of ``command`` on every dataset in turn (the order swapped each
    round), so that load from other processes falls on both sizes alike."""
    times: dict[int, list[float]] = {size: [] for size in datasets}
    for n in range(WARMUP + RUNS):
        for size in list(datasets)[:: 1 if n % 2 else -1]:
            elapsed = datasets[size].ask(command)["ms"]
            if n >= WARMUP:
                times[size].append(elapsed)
    return {size: {"median": statistics.median(t), "min": min(t)} for size, t in times.items()}


def _measure(backend: str, explain: bool) -> dict:
    """Both datasets side by side (two SQLite files, or two schemas of the scratch PostgreSQL
    database), built at the same time, then timed in alternation."""
    with tempfile.TemporaryDirectory(prefix="relcal-bench-") as folder:
        if backend == "sqlite":
            urls = {size: f"sqlite:///{folder}/scan-{size}.sqlite3" for size in SIZES}
        else:
            url = harness.postgres_url(DEFAULT_POSTGRES)
            _recreate_postgres(url)
            urls = {size: f"{url}?currentSchema=s{size},public" for size in SIZES}
        datasets: dict[int, _Dataset] = {}
        try:
            for size in SIZES:
                datasets[size] = _Dataset(urls[size], size, explain and size == SIZES[-1], folder)
            results = {size: datasets[size].read() for size in SIZES}
            load = os.getloadavg()[0]
            for size, timing in _alternate(datasets, "scan").items():
                results[size]["scan"] = timing
            for size, timing in _alternate(datasets, "collect").items():
                results[size]["collect"] = timing
            for name in results[SIZES[0]]["rule_queries"]:
                for size, timing in _alternate(datasets, f"rule {name}").items():
                    results[size].setdefault("rules", {})[name] = timing["median"]
            results[SIZES[0]]["load"] = (load + os.getloadavg()[0]) / 2
            for dataset in datasets.values():
                dataset.close()
        finally:
            for dataset in datasets.values():
                if dataset.process.poll() is None:
                    dataset.process.kill()
                    dataset.process.wait()
            if backend != "sqlite":
                harness.drop_postgres(url)
    return {str(size): figures for size, figures in results.items()}


def _recreate_postgres(url: str) -> None:
    """The scratch database, with a schema per dataset. btree_gist (for the bookings' exclusion
    constraint) goes in ``public``, which both schemas' search path includes."""
    import psycopg

    harness.recreate_postgres(url)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION btree_gist SCHEMA public")
        for size in SIZES:
            connection.execute(f'CREATE SCHEMA "s{size}"')


def main() -> int:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a database URL
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.size, args.explain)
        return 0

    backends = harness.backends(args.only)
    results = {backend: _measure(backend, args.explain) for backend in backends}

    small, large = (str(size) for size in SIZES)
    print(f"reminder scan, {DUE} reminders due, {RUNS} scans per size (median and fastest)")
    print(f"latency in ms; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}\n")
    print(f"{'':24}" + "".join(f"{backend:>40}" for backend in backends))
    print(
        f"{'':24}"
        + "".join(f"{'scan':>10}{'fastest':>9}{'collect':>9}{'queries':>12}" for _ in backends)
    )
    for size in SIZES:
        row = f"{f'{size:,} future items':24}"
        for backend in backends:
            f = results[backend][str(size)]
            counted = f"{f['scan_queries']} / {f['collect_queries']}"
            row += f"{f['scan']['median']:>10.2f}{f['scan']['min']:>9.2f}"
            row += f"{f['collect']['median']:>9.2f}{counted:>12}"
        print(row)
    ok = True
    row = f"{'ratio 100,000 / 1,000':24}"
    for backend in backends:
        a, b = results[backend][small], results[backend][large]
        ratio = b["scan"]["median"] / a["scan"]["median"]
        same = (a["due"], a["deliveries"], a["scan_queries"]) == (
            b["due"],
            b["deliveries"],
            b["scan_queries"],
        )
        ok = ok and ratio < 2 and same
        row += f"{ratio:>10.2f}{b['scan']['min'] / a['scan']['min']:>9.2f}"
        row += f"{b['collect']['median'] / a['collect']['median']:>9.2f}{'':>12}"
    print(row)
    loads = ", ".join(f"{backend} {results[backend][small]['load']:.1f}" for backend in backends)
    print(f"\nqueries: per scan / per collect; load average while timing: {loads}\n")
    for backend in backends:
        for size in SIZES:
            f = results[backend][str(size)]
            items = f["items"]
            print(
                f"{backend:>10} {size:>7,}: {items['milestones']:,} milestones ahead, "
                f"{items['bookings']:,} holding bookings, {items['freezes']:,} freezes, "
                f"{items['history']:,} history rows (built in {f['fill_s']:.0f} s); "
                f"{sum(f['due'].values())} due -> {f['deliveries']} deliveries "
                f"({f['handed_over']} handed over)"
            )
    print("\nper rule, median ms (queries), 1,000 -> 100,000:")
    for backend in backends:
        a, b = results[backend][small], results[backend][large]
        for name, ms in a["rules"].items():
            print(
                f"{backend:>10} {name:22} {ms:7.2f} ({a['rule_queries'][name]}) -> "
                f"{b['rules'][name]:7.2f} ({b['rule_queries'][name]})   {b['due'][name]} due"
            )
    for backend in backends:
        scans = results[backend][large]["full_scans"]
        print(f"\n{backend}: full scans of growing tables at 100,000: {len(scans) or 'none'}")
        for line in scans:
            print(f"    {line}")
        for query in results[backend][large]["plans"] or ():
            print(f"\n  {query['sql']}")
            for line in query["plan"]:
                print(f"    {line}")
    print("\nratio of scan medians below 2, same due reminders and queries:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
