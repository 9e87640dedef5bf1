"""Benchmark: readiness: the go/no-go board against the release list, and the readiness and
deploy-check API under gunicorn at 20 concurrent clients.

Run from the project root:

    .venv/bin/python bench/readiness.py                    # SQLite and PostgreSQL
    .venv/bin/python bench/readiness.py --only sqlite      # or --only postgresql

Each database runs in a child process on a throwaway database: a temporary SQLite file, and a
scratch PostgreSQL database (``relcal_bench_readiness`` on the server of ``BENCH_POSTGRES_URL``,
default ``postgres://postgres@127.0.0.1:5432/relcal_bench_readiness``) that is created and
dropped again. The child bulk-inserts 200 releases in testing going live within the next 14
days (8 teams, each with a gate policy requiring 3 checks; 3 candidates per release with 10
check reports each; sign-off requirements and sign-offs, dependencies, scope items with open
blockers, freeze windows, prod bookings, waivers), then:

1. renders the go/no-go board (``/releases/readiness/?days=30``, 200 rows, every registered gate
   per row) and the release list filtered to the same 200 releases (it paginates by 50 and
   takes no page size: page 1 as rendered, and the four pages together), as a superuser through
   Django's test client; the board's median must stay below twice the list's for the same 200
   releases (its four pages: one 50-row page shows a quarter of them, so it is printed for
   information only), and the board must run the same SQL queries for 10 releases as for 200;
2. counts the queries of one readiness evaluation, ``GET /api/v1/releases/{id}/readiness/`` and
   ``POST /api/v1/deploy-checks/`` for a release with 1 candidate and one with 50 candidates and
   500 check reports: they must be equal;
3. starts gunicorn (2 sync workers, DEBUG=1) on the same database and sends readiness requests
   and deploy checks for random releases (127.0.0.1 only): 200 of each from one client (the
   service time), then 2,000 of each from 20 client threads, the endpoints taking turns in
   rounds of 500; it reports p50/p95/p99 latency and requests per second, and stops gunicorn.

It prints the figures and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import harness

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/relcal_bench_readiness"
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

RELEASES = 200  # on the board and on the list
SMALL = 10  # the board's query count is taken at this size too
TEAMS = 8
CANDIDATES = 3  # per release; the newest is the current one
REPORTS = 10  # per candidate: three runs of each required check and one lint
REQUIRED = ("unit-tests", "integration-tests", "security-scan")
BIG_CANDIDATES = 50  # the release whose readiness must cost the queries of a one-build release
DAYS = 30  # the board's range
LIST_PAGE = 50  # releases.views.pages.PAGE_SIZE: the list takes no page size
RENDERS = 20  # timed renders of each page
WARMUP_RENDERS = 2
IN_PROCESS_CALLS = 40  # timed in-process API calls for the 1 vs 50 candidates comparison
CLIENTS = 20  # concurrent client threads against gunicorn
REQUESTS = 2_000  # per endpoint
WARMUP_REQUESTS = 100  # per endpoint, untimed
ROUNDS = 4  # the endpoints take turns, REQUESTS / ROUNDS requests at a time
SOLO = 200  # per endpoint from a single client: the service time without queueing
WORKERS = 2


# --- The data ------------------------------------------------------------------------------------


def _world(now) -> dict:
    """People, teams with their gate policies, environments, freeze windows and a few shipped
    (and one cancelled) releases for prerequisites to point at."""
    from django.contrib.auth.models import Group, User

    from environments.models import Environment
    from releases.models import FreezeWindow, GatePolicy, Release, Team

    admin = User.objects.create_superuser("bench-admin", "admin@example.com", "x")
    ci = User.objects.create_user("bench-ci", "ci@example.com", first_name="CI")
    manager = User.objects.create_user("bench-manager", "rm@example.com", first_name="Rita")
    groups = {}
    signers = {}
    for role, label in (("product", "Product"), ("qa", "QA")):
        groups[role] = Group.objects.create(name=f"Bench {label} approvers")
        signers[role] = User.objects.create_user(
            f"bench-{role}", f"{role}@example.com", first_name=label, last_name="Approver"
        )
        signers[role].groups.add(groups[role])
    teams = []
    for t in range(TEAMS):
        team = Team.objects.create(name=f"Team {t}", slug=f"team-{t}", contact="t@example.com")
        team.members.add(ci)
        GatePolicy.objects.create(
            name=f"Team {t}",
            team=team,
            required_checks=list(REQUIRED),
            require_booking=t % 4 == 0,
            booking_environment="prod",
            rollback_rehearsal_days=14 if t % 2 == 0 else None,
        )
        teams.append(team)
    prod = Environment.objects.create(name="Production", slug="prod", kind="prod")
    Environment.objects.create(name="Staging", slug="staging", kind="staging")
    base = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    step = (timedelta(days=14) - timedelta(hours=4)) / RELEASES
    FreezeWindow.objects.bulk_create(
        [
            FreezeWindow(  # every team: hits releases 100 to 103
                name="Change freeze",
                start=base + 100 * step - timedelta(minutes=30),
                end=base + 103 * step + timedelta(minutes=30),
            ),
            FreezeWindow(  # Team 1's releases among 40 to 60
                name="Team 1 migration freeze",
                team=teams[1],
                start=base + 40 * step,
                end=base + 60 * step,
            ),
            FreezeWindow(
                name="Last freeze", start=now - timedelta(days=20), end=now - timedelta(days=18)
            ),
            FreezeWindow(
                name="Next freeze", start=now + timedelta(days=90), end=now + timedelta(days=92)
            ),
        ]
    )
    shipped = Release.objects.bulk_create(
        [
            Release(
                name=f"Team {k} 4.{k}.0",
                version=f"4.{k}.0",
                team=teams[k],
                manager=manager,
                go_live=now - timedelta(days=30 - k),
                state="released" if k < 5 else "cancelled",
            )
            for k in range(6)
        ]
    )
    return {
        "admin": admin,
        "ci": ci,
        "manager": manager,
        "groups": groups,
        "signers": signers,
        "teams": teams,
        "prod": prod,
        "base": base,
        "step": step,
        "released": shipped[:5],
        "cancelled": shipped[5],
        "now": now,
    }


def _candidates(release, count: int, world: dict, *, fails: bool, waits: bool, lacks: bool):
    """``count`` candidates of ``release`` with ``REPORTS`` check reports each: every required
    check failed, then pending, then passed (re-runs), and one lint; on the current candidate
    integration-tests may end failed (``fails``), security-scan pending (``waits``) or not
    reported at all (``lacks``)."""
    from approvals.readiness.models import CheckReport, ReleaseCandidate

    moment = world["now"] - timedelta(days=2)
    candidates = ReleaseCandidate.objects.bulk_create(
        [
            ReleaseCandidate(
                release=release,
                version=f"{release.version}-rc.{k + 1}",
                commit_sha=f"{release.pk:08x}{k:08x}abcdef",
                artifact_digest="sha256:" + f"{release.pk:032x}{k:032x}",
                build_url=f"https://ci.example.com/builds/{release.pk}/{k + 1}",
                reported_by=world["ci"],
                reported_at=moment + timedelta(minutes=k),
            )
            for k in range(count)
        ]
    )
    reports = []
    for k, candidate in enumerate(candidates):
        current = k == count - 1
        names = [name for name in REQUIRED for _ in range(3)] + ["lint"]
        if current and lacks:
            names = [("lint" if name == "security-scan" else name) for name in names]
        for run, name in enumerate(names):
            final = run % 3 == 2 or name == "lint"
            status = ("failed", "pending", "passed")[run % 3] if name != "lint" else "passed"
            if current and final and name == "integration-tests" and fails:
                status = "failed"
            if current and final and name == "security-scan" and waits:
                status = "pending"
            reports.append(
                CheckReport(
                    candidate=candidate,
                    name=name,
                    status=status,
                    url=f"https://ci.example.com/runs/{candidate.pk}/{run}",
                    summary=f"{name}: {status}",
                    details={"junit": {"tests": 120, "failures": int(status == "failed")}},
                    reported_by=world["ci"],
                    reported_at=moment + timedelta(minutes=k, seconds=run),
                )
            )
    CheckReport.objects.bulk_create(reports, batch_size=2_000)
    return candidates


def _plan(release, world: dict, scope: int = 4) -> None:
    """Milestones and scope items of one release (an open blocker when ``release.blocked``)."""
    from releases.models import Milestone, ScopeItem

    Milestone.objects.bulk_create(
        [
            Milestone(release=release, kind="go_no_go", at=release.go_live - timedelta(days=1)),
            Milestone(
                release=release,
                kind="code_freeze",
                date=(release.go_live - timedelta(days=5)).date(),
            ),
        ]
    )
    ScopeItem.objects.bulk_create(
        [
            ScopeItem(
                release=release,
                title=f"Item {k} of {release.version}",
                ticket_key=f"T{release.pk}-{k}",
                blocker=k < 2 and (k == 1 or getattr(release, "blocked", False)),
                done=k == 1,
            )
            for k in range(scope)
        ]
    )


def _add_releases(world: dict, indexes: range) -> list:
    """The releases ``indexes`` of the 200 in testing, one every ~1.7 hours from two hours
    ahead, with everything their gates read."""
    from approvals import fingerprint as fp
    from approvals.models import ReleaseRequirement, SignOff
    from approvals.readiness.models import Waiver
    from environments.models import Booking
    from releases.models import Release, ReleaseDependency

    teams, base, step, now = world["teams"], world["base"], world["step"], world["now"]
    rows = []
    for i in indexes:
        team = teams[i % TEAMS]
        go_live = base + i * step
        release = Release(
            name=f"{team.name} 5.{i}.0",
            version=f"5.{i}.0",
            team=team,
            manager=world["manager"],
            go_live=go_live,
            state="testing",
            description="Benchmark release.",
            rollback_plan="Redeploy the previous build.",
            rollback_rehearsed_on=(
                None if i % 8 == 1 else (go_live - timedelta(days=30 if i % 19 == 0 else 3)).date()
            ),
            freeze_override_reason="Agreed with the CAB." if i == 101 else "",
        )
        release.index = i
        release.blocked = i % 9 == 4
        rows.append(release)
    releases = Release.objects.bulk_create(rows)
    by_index = dict(zip(indexes, releases, strict=True))
    known = {r.index: r for r in world.setdefault("releases", [])} | by_index
    world["releases"].extend(releases)

    waivers, bookings, requirements, dependencies = [], [], [], []
    for release in releases:
        i = release.index
        _plan(release, world)
        current = _candidates(
            release,
            CANDIDATES,
            world,
            fails=i % 7 == 0,
            waits=i % 11 == 0,
            lacks=i % 13 == 0,
        )[-1]
        if i % 14 == 0:  # integration-tests failed, and the CAB let it pass for this build
            waivers.append(
                Waiver(
                    candidate=current,
                    gate="checks",
                    reason="Flaky test, tracked in OPS-1.",
                    signer=world["admin"],
                    signer_name="Bench Admin",
                    signed_at=now - timedelta(hours=1),
                )
            )
        if i % 6 == 0 and i - 3 in known:
            dependencies.append(
                ReleaseDependency(release=release, depends_on=known[i - 3], kind="needs")
            )
        if i % 10 == 5 and i - 1 in known:
            dependencies.append(
                ReleaseDependency(release=release, depends_on=known[i - 1], kind="together")
            )
        if i % 17 == 0:
            shipped = world["released"][i % 5]
            dependencies.append(
                ReleaseDependency(release=release, depends_on=shipped, kind="needs")
            )
        if i % 29 == 0:
            dependencies.append(
                ReleaseDependency(release=release, depends_on=world["cancelled"], kind="needs")
            )
        if i % TEAMS % 4 == 0 and i % 5 != 2:  # the policy asks for prod booked; most have it
            start, end = release.window
            bookings.append(
                Booking(
                    environment=world["prod"],
                    team=release.team,
                    release=release,
                    purpose=f"Deploy {release.name}",
                    start=start,
                    end=end,
                    booked_by=world["manager"],
                )
            )
        if i % 3 == 0:
            for role in ("product", "qa"):
                requirements.append(
                    ReleaseRequirement(
                        release=release,
                        role=role,
                        group=world["groups"][role],
                        group_name=world["groups"][role].name,
                        count=1,
                        segregation_of_duties=True,
                        policy_name="Default",
                        taken_at=now - timedelta(days=3),
                    )
                )
    Waiver.objects.bulk_create(waivers)
    ReleaseDependency.objects.bulk_create(dependencies)
    Booking.objects.bulk_create(bookings)
    ReleaseRequirement.objects.bulk_create(requirements)

    # Sign-offs on what the releases are now (fresh, so they count) for every sixth release,
    # and one stale one (an earlier version) for some of the others that need sign-offs.
    signoffs = []
    asked = [r.pk for r in releases if r.index % 3 == 0]
    index_of = {release.pk: release.index for release in releases}
    for release in fp.with_snapshot_data(Release.objects.filter(pk__in=asked)):
        i = index_of[release.pk]
        snapshot, fingerprint = fp.current(release)
        for role in ("product", "qa"):
            fresh = i % 6 == 0
            if not fresh and not (role == "product" and i % 9 == 3):
                continue
            signer = world["signers"][role]
            signoffs.append(
                SignOff(
                    release=release,
                    role=role,
                    signer=signer,
                    signer_name=signer.get_full_name(),
                    decision="approve",
                    meaning="approved_for_release" if role == "product" else "quality_verified",
                    signed_at=now - timedelta(hours=2),
                    fingerprint=fingerprint if fresh else "0" * 64,
                    snapshot=snapshot,
                )
            )
    SignOff.objects.bulk_create(signoffs)
    return releases


def _probe_releases(world: dict) -> tuple:
    """Two releases alike but for their builds, going live after the board's range: one with a
    single candidate (10 reports), one with 50 candidates (500 reports)."""
    from releases.models import Release

    team = world["teams"][0]  # its policy asks for checks, a rehearsal and prod booked
    out = []
    for k, count in enumerate((1, BIG_CANDIDATES)):
        release = Release.objects.create(
            name=f"{team.name} 9.{k}.0",
            version=f"9.{k}.0",
            team=team,
            manager=world["manager"],
            go_live=world["now"] + timedelta(days=DAYS + 10 + k),
            state="testing",
            rollback_rehearsed_on=(world["now"] + timedelta(days=DAYS + 5)).date(),
        )
        _plan(release, world)
        _candidates(release, count, world, fails=False, waits=False, lacks=False)
        out.append(release)
    return tuple(out)


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- In process: pages and query counts ----------------------------------------------------------


def _client(user):
    from django.test import Client

    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    return client


def _queries(call) -> tuple[int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        result = call()
    return len(context.captured_queries), result


def _board_rows(response) -> int:
    return response.content.count(b'data-verdict="')


def _list_url(world: dict, page: int) -> str:
    from urllib.parse import urlencode

    now = world["now"]
    query = {
        "state": "testing",
        "go_live_after": (now - timedelta(hours=12)).isoformat(),
        "go_live_before": (now + timedelta(days=DAYS)).isoformat(),
    }
    if page > 1:
        query["page"] = page
    return f"/releases/?{urlencode(query)}"


def _timed(client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def _summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"median": statistics.median(ms), "p95": harness.p95(ms)}


def _pages(world: dict, results: dict) -> None:
    """Board and list: rows, queries and render times."""
    from releases import gates

    client = _client(world["admin"])
    board = f"/releases/readiness/?days={DAYS}"
    pages = [_list_url(world, page) for page in range(1, RELEASES // LIST_PAGE + 1)]

    response = client.get(board)
    results["board_rows"] = _board_rows(response)
    results["board_bytes"] = len(response.content)
    results["board_queries"], _ = _queries(lambda: client.get(board))
    first = client.get(pages[0])
    matched = re.search(rb"(\d+) releases? match the filter", first.content)
    results["list_count"] = int(matched.group(1)) if matched else -1
    results["list_rows"] = first.content.count(b'class="release-link"')
    results["list_bytes"] = len(first.content)
    results["list_queries"], _ = _queries(lambda: client.get(pages[0]))
    verdicts = Counter(
        str(readiness.verdict)
        for readiness in gates.evaluate(world["releases"], user=world["admin"]).values()
    )
    results["verdicts"] = dict(verdicts)

    for _ in range(WARMUP_RENDERS):
        _timed(client, board)
        for url in pages:
            _timed(client, url)
    times = {"board": [], "list": [], "list_all": []}
    for _ in range(RENDERS):  # alternating, so that load from elsewhere falls on both alike
        times["board"].append(_timed(client, board))
        each = [_timed(client, url) for url in pages]
        times["list"].append(each[0])
        times["list_all"].append(sum(each))
    results["renders"] = {name: _summary(values) for name, values in times.items()}
    results["load_renders"] = os.getloadavg()[0]


def _api_in_process(world: dict, probes: tuple, token: str, results: dict) -> None:
    """Queries (and in-process latency) of readiness for 1 vs 50 candidates."""
    from django.test import Client

    from releases import gates

    client = Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token}")
    admin = world["admin"]
    calls, out = {}, {}
    for label, release in zip(("one", "fifty"), probes, strict=True):
        url = f"/api/v1/releases/{release.pk}/readiness/"
        body = json.dumps({"release": release.pk, "environment": "prod"})

        def get(url=url):
            response = client.get(url)
            assert response.status_code == 200, response.content
            return response

        def post(body=body):
            response = client.post("/api/v1/deploy-checks/", body, content_type="application/json")
            assert response.status_code in (200, 409), response.content
            return response

        gates.readiness(release, user=admin)  # warm
        get()
        post()
        evaluated, readiness = _queries(
            lambda release=release: gates.readiness(release, user=admin)
        )
        got, _ = _queries(get)
        posted, answer = _queries(post)
        calls[label] = {"get_ms": get, "post_ms": post}
        out[label] = {
            "candidates": release.candidates.count(),
            "reports": sum(c.checks.count() for c in release.candidates.all()),
            "verdict": str(readiness.verdict),
            "deploy_status": answer.status_code,
            "queries_gates": evaluated,
            "queries_get": got,
            "queries_post": posted,
        }
    times = {(label, key): [] for label in calls for key in calls[label]}
    for _ in range(IN_PROCESS_CALLS):  # alternating, so that load from elsewhere falls on both
        for (label, key), values in times.items():
            values.append(_elapsed(calls[label][key]))
    for (label, key), values in times.items():
        out[label][key] = statistics.median(values)
    results["probes"] = out


def _elapsed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


# --- Under gunicorn ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gunicorn() -> str:
    local = harness.ROOT / ".venv" / "bin" / "gunicorn"
    return str(local if local.exists() else Path(sys.executable).with_name("gunicorn"))


def _fire(base: str, token: str, calls: list[tuple[str, str, dict | None]], clients: int) -> dict:
    """Send ``calls`` (method, path, JSON body) from ``clients`` threads, each sending its next
    request as soon as the last is answered: latencies (ms), statuses, wall and CPU time."""
    import requests

    lock = threading.Lock()
    pending = iter(range(len(calls)))
    latencies: list[float] = []
    statuses: Counter = Counter()

    def client() -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Token {token}"
            while True:
                with lock:
                    index = next(pending, None)
                if index is None:
                    return
                method, path, body = calls[index]
                start = time.perf_counter()
                try:
                    response = session.request(method, base + path, json=body, timeout=60)
                    status = str(response.status_code)
                except requests.RequestException as error:
                    status = type(error).__name__
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed * 1000)
                    statuses[status] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "latencies": latencies,
        "statuses": statuses,
        "wall": time.perf_counter() - began,
        "cpu": time.process_time() - cpu,
    }


def _stats(runs: list[dict]) -> dict:
    """Percentiles over the latencies of ``runs``, requests per second over their wall time,
    and the share of a CPU the client threads used."""
    latencies = [ms for run in runs for ms in run["latencies"]]
    wall = sum(run["wall"] for run in runs)
    percentiles = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "p50": statistics.median(latencies),
        "p95": percentiles[94],
        "p99": percentiles[98],
        "per_second": len(latencies) / wall,
        "client_cpu": sum(run["cpu"] for run in runs) / wall,
        "statuses": dict(sum((run["statuses"] for run in runs), Counter())),
    }


def _wait_until_up(server: subprocess.Popen, url: str, token: str, log: Path) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, headers={"Authorization": f"Token {token}"}, timeout=5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer in 60 s:\n{log.read_text()[-3000:]}")


def _serve(database_url: str, var_dir: str, token: str, release_ids: list[int], results: dict):
    """gunicorn on the scratch database: readiness requests and deploy checks for random
    releases, from one client, then from ``CLIENTS`` in alternating rounds."""
    import random

    from django.db import connections

    connections.close_all()  # the server's workers get the database to themselves
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    environ = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "RELCAL_VAR_DIR": var_dir,
        "DJANGO_SETTINGS_MODULE": "relcal.settings",
        "CELERY_BROKER_URL": "memory://",
        "LOG_LEVEL": "WARNING",
    }
    log = Path(var_dir) / "gunicorn.log"
    command = [_gunicorn(), "relcal.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(WORKERS)]
    with log.open("w") as output:
        server = subprocess.Popen(
            command, cwd=harness.ROOT, env=environ, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_up(server, f"{base}/api/v1/releases/{release_ids[0]}/readiness/", token, log)
        rng = random.Random(RELEASES)

        def readiness_calls(n: int) -> list:
            return [
                ("GET", f"/api/v1/releases/{rng.choice(release_ids)}/readiness/", None)
                for _ in range(n)
            ]

        def deploy_calls(n: int) -> list:
            return [
                (
                    "POST",
                    "/api/v1/deploy-checks/",
                    {"release": rng.choice(release_ids), "environment": "prod"},
                )
                for _ in range(n)
            ]

        kinds = {"readiness": readiness_calls, "deploy_checks": deploy_calls}
        for make in kinds.values():
            _fire(base, token, make(WARMUP_REQUESTS), CLIENTS)
        # One client first: the time a worker takes per request, without queueing.
        alone = {kind: _stats([_fire(base, token, make(SOLO), 1)]) for kind, make in kinds.items()}
        # Then the endpoints in alternating rounds, so that load from elsewhere falls on both.
        runs: dict[str, list] = {kind: [] for kind in kinds}
        for _ in range(ROUNDS):
            for kind, make in kinds.items():
                runs[kind].append(_fire(base, token, make(REQUESTS // ROUNDS), CLIENTS))
        results["gunicorn"] = {kind: _stats(done) for kind, done in runs.items()}
        results["gunicorn_alone"] = alone
        results["load_gunicorn"] = os.getloadavg()[0]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    logged = log.read_text().splitlines()
    results["gunicorn_errors"] = [line for line in logged if "Traceback" in line or "ERROR" in line]


# --- The child -----------------------------------------------------------------------------------


def _measure(database_url: str, var_dir: str) -> dict:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from releases import gates

    # In process as in production: with DEBUG on, Django logs every query. (gunicorn runs with
    # DEBUG=1: it then needs no SECRET_KEY and does not redirect to HTTPS.)
    settings.DEBUG = False
    results: dict = {
        "vendor": connection.vendor,
        "gates": [gate.name for gate in gates.gates()],
    }
    world = _world(timezone.now())
    _add_releases(world, range(0, SMALL))
    _analyze()
    client = _client(world["admin"])
    board = f"/releases/readiness/?days={DAYS}"
    results["board_rows_small"] = _board_rows(client.get(board))
    results["board_queries_small"], _ = _queries(lambda: client.get(board))

    _add_releases(world, range(SMALL, RELEASES))
    probes = _probe_releases(world)
    _analyze()
    _pages(world, results)

    from approvals.readiness.models import CheckReport, ReleaseCandidate

    results["rows"] = {
        "candidates": ReleaseCandidate.objects.count(),
        "check_reports": CheckReport.objects.count(),
    }
    token = Token.objects.create(user=world["admin"]).key
    _api_in_process(world, probes, token, results)
    _serve(database_url, var_dir, token, [r.pk for r in world["releases"]], results)
    return results


def _child(backend: str) -> None:
    """Run the measurements for one database and print them as JSON."""
    with (
        tempfile.TemporaryDirectory(prefix="relcal-bench-var-") as var_dir,
        harness.scratch_database(backend, harness.postgres_url(DEFAULT_POSTGRES)) as url,
    ):
        harness.setup_django(
            url, CELERY_BROKER_URL="memory://", ALLOWED_HOSTS="127.0.0.1", RELCAL_VAR_DIR=var_dir
        )
        results = _measure(url, var_dir)
    print(json.dumps(results))


# --- The parent ----------------------------------------------------------------------------------


def _report(backend: str, r: dict) -> bool:
    renders = r["renders"]
    board, page, pages = renders["board"], renders["list"], renders["list_all"]
    ratio = board["median"] / page["median"]
    ratio_all = board["median"] / pages["median"]
    one, fifty = r["probes"]["one"], r["probes"]["fifty"]
    print(f"\n== {LABELS[backend]} ==")
    print(
        f"{len(r['gates'])} registered gates per release ({', '.join(r['gates'])}); "
        f"{r['rows']['candidates']:,} candidates, {r['rows']['check_reports']:,} check reports"
    )
    print(f"verdicts of the {RELEASES} releases: {r['verdicts']}")
    print(
        f"\nrenders in ms ({RENDERS} each, superuser, test client; "
        f"load average {r['load_renders']:.1f})       median      p95"
    )
    rows = (
        (f"board /releases/readiness/?days={DAYS}, {r['board_rows']} rows", board),
        (f"list page 1 as rendered, {r['list_rows']} of {r['list_count']} rows", page),
        (f"list, the {RELEASES // LIST_PAGE} pages of {r['list_count']} rows together", pages),
    )
    for label, figures in rows:
        print(f"  {label:54}{figures['median']:>9.1f}{figures['p95']:>9.1f}")
    print(f"  {'ratio board / list page 1 (a quarter of the rows)':54}{ratio:>9.2f}")
    print(f"  {'ratio board / the same 200 releases listed (target < 2)':54}{ratio_all:>9.2f}")
    print(
        f"  page sizes: board {r['board_bytes'] / 1024:.0f} KiB, "
        f"list page {r['list_bytes'] / 1024:.0f} KiB"
    )
    print(
        f"\nSQL queries: board {r['board_queries_small']} for {r['board_rows_small']} releases, "
        f"{r['board_queries']} for {r['board_rows']}; list page {r['list_queries']}"
    )
    print("readiness of one release          1 candidate (10 reports)   50 candidates (500)")
    for key, label in (
        ("queries_gates", "queries, gates.readiness"),
        ("queries_get", "queries, GET readiness"),
        ("queries_post", "queries, POST deploy-checks"),
    ):
        print(f"  {label:32}{one[key]:>14}{fifty[key]:>22}")
    for key, label in (("get_ms", "GET in process, median ms"), ("post_ms", "POST in process")):
        print(f"  {label:32}{one[key]:>14.1f}{fifty[key]:>22.1f}")
    print(
        f"  (candidates/reports {one['candidates']}/{one['reports']} and "
        f"{fifty['candidates']}/{fifty['reports']}; verdicts {one['verdict']}, "
        f"{fifty['verdict']}; deploy check {one['deploy_status']}, {fifty['deploy_status']})"
    )
    print(
        f"\ngunicorn, {WORKERS} sync workers, DEBUG=1, load average {r['load_gunicorn']:.1f}; "
        "latency in ms\n                                                     requests"
        "      p50      p95      p99    req/s  client CPU  statuses"
    )
    served = r["gunicorn"]
    for key, label in (
        ("readiness", "GET /api/v1/releases/{id}/readiness/"),
        ("deploy_checks", "POST /api/v1/deploy-checks/"),
    ):
        for clients, f in ((1, r["gunicorn_alone"][key]), (CLIENTS, served[key])):
            print(
                f"  {label:38} {clients:>2} client{'s' if clients > 1 else ' '}{f['requests']:>7,}"
                f"{f['p50']:>9.1f}{f['p95']:>9.1f}{f['p99']:>9.1f}{f['per_second']:>9.1f}"
                f"{f['client_cpu']:>11.2f}  {f['statuses']}"
            )
    if r["gunicorn_errors"]:
        print("  gunicorn logged:", *r["gunicorn_errors"][:5], sep="\n    ")

    checks = [
        ("board shows every release", r["board_rows"] == RELEASES == r["list_count"]),
        ("board / the same releases listed < 2", ratio_all < 2),
        (
            f"board queries equal for {SMALL} and {RELEASES} releases",
            r["board_queries_small"] == r["board_queries"] and r["board_rows_small"] == SMALL,
        ),
        (
            "readiness queries equal for 1 and 50 candidates",
            all(one[key] == fifty[key] for key in ("queries_gates", "queries_get", "queries_post")),
        ),
        (
            "every request answered 200 (readiness) or 200/409 (deploy check)",
            set(served["readiness"]["statuses"]) == {"200"}
            and set(served["deploy_checks"]["statuses"]) <= {"200", "409"},
        ),
    ]
    print()
    for label, ok in checks:
        print(f"  {'ok  ' if ok else 'MISS'} {label}")
    return all(ok for _, ok in checks)


def main() -> int:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--child", choices=harness.BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return 0

    backends = harness.backends(args.only)
    # A process per database: Django's settings (and so DATABASES) are read once.
    results = {backend: harness.run_child(__file__, "--child", backend) for backend in backends}
    print(
        f"Readiness: {RELEASES} releases in testing going live within 14 days, {TEAMS} teams, "
        f"{CANDIDATES} candidates x {REPORTS} check reports each; {os.cpu_count()} CPUs"
    )
    met = [_report(backend, results[backend]) for backend in backends]  # every database printed
    ok = all(met)
    print("\nall targets met:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
