"""Benchmark: pages that must cost the same whatever the table size, at 10 and 10,000 releases.

Run from the project root:

    .venv/bin/python bench/page_size.py                          # SQLite and PostgreSQL
    .venv/bin/python bench/page_size.py --only sqlite --size 2000  # a quicker run

Each database runs in a child process on a throwaway database: a temporary SQLite file, and a
scratch PostgreSQL database (``relcal_bench_pages`` on the server of ``BENCH_POSTGRES_URL``,
default ``postgres://postgres@127.0.0.1:5432/relcal_bench_pages``) that is created and dropped
again. The child builds a small world (10 releases), measures every page, grows it to a tenth
of ``--size`` and measures again, then to ``--size`` releases (default 10,000) and measures a
third time. The data, in bulk and in the same proportions at every size: releases going live
over the next 30 days (a third in ``scope_frozen`` with a product sign-off requirement for the
approver's group, so each also waits for a sign-off), a milestone per release, and one
ten-minute booking per release by the release manager (a pipeline's holds), round-robin over 12
environments and the next week's days (12,096 fit without overlapping).

Per page, as the person it is for, through Django's test client: the response size, the SQL
queries and the median of ``RENDERS`` renders. The pages: the release page (its dependency
picker), "my team's bookings" as the manager who booked everything, the calendar month and
agenda, the environments timeline, ``/api/v1/signoffs/pending/`` and the admin's "My pending
sign-offs" as the approver, at three sizes: 10 releases, a tenth of ``--size`` and ``--size``.
Targets, checked at the end (exit status 1 when missed): the same number of queries at every
size, and a response at the large size at most 1.2 times its size at a tenth of it plus 10 KB
(the pages fill up to their bounds as the data grows, then stop growing). The timeline's lanes
fill up (4 bookings per environment and day) from about 4,000 releases on, so a run with
``--size`` below 4,000 may miss the size target there while the timeline is still filling.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta

import harness

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/relcal_bench_pages"
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
SMALL = 10
RENDERS = 5
ENVIRONMENTS = 12
PAGES = (
    "release page",
    "my bookings",
    "calendar month",
    "calendar agenda",
    "calendar 3 months",
    "environments timeline",
    "pending API",
    "admin pending",
)


def _world():
    """People, teams, environments and the approvers' group: what both sizes share."""
    from django.contrib.auth.models import Group, User

    from environments.models import Environment
    from releases import roles
    from releases.models import Team

    manager = User.objects.create_user("bench-manager", first_name="Rita", is_staff=True)
    manager.groups.add(Group.objects.get(name=roles.RELEASE_MANAGERS))
    approver = User.objects.create_user("bench-approver", first_name="Priya", is_staff=True)
    approvers = Group.objects.create(name="Bench product approvers")
    approver.groups.add(approvers)
    teams = [Team.objects.create(name=f"Team {t}", slug=f"team-{t}") for t in range(4)]
    environments = [
        Environment.objects.create(name=f"env {e}", slug=f"env-{e}", kind="test")
        for e in range(ENVIRONMENTS)
    ]
    return manager, approver, approvers, teams, environments


def _grow(upto: int, world, now) -> None:
    """Add releases (with their milestone, booking and sign-off requirement) up to ``upto``."""
    from approvals.models import ReleaseRequirement
    from environments.models import Booking, BookingState
    from releases.models import Milestone, Release, ReleaseState

    manager, _, approvers, teams, environments = world
    first = Release.objects.count()
    base = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    span = timedelta(days=30) / max(upto, 1)
    releases = Release.objects.bulk_create(
        Release(
            name=f"Bench {n}",
            version=f"{n}.0",
            team=teams[n % len(teams)],
            manager=manager,
            go_live=base + n * span,
            state=ReleaseState.SCOPE_FROZEN if n % 3 == 0 else ReleaseState.PLANNED,
        )
        for n in range(first, upto)
    )
    Milestone.objects.bulk_create(
        Milestone(release=r, kind="code_freeze", date=(r.go_live - timedelta(days=3)).date())
        for r in releases
    )
    ReleaseRequirement.objects.bulk_create(
        ReleaseRequirement(
            release=r,
            role="product",
            group=approvers,
            group_name=approvers.name,
            count=1,
            segregation_of_duties=False,
            policy_name="Bench",
            taken_at=now,
        )
        for r in releases
        if r.state == ReleaseState.SCOPE_FROZEN
    )
    # Ten-minute holds back to back, round-robin over the environments and the next week's
    # days, so that every day of the timeline fills up alike as the data grows.
    slot = timedelta(minutes=10)
    lanes = ENVIRONMENTS * 7
    Booking.objects.bulk_create(
        Booking(
            environment=environments[n % ENVIRONMENTS],
            team=teams[n % len(teams)],
            booked_by=manager,
            purpose=f"pipeline {n}",
            start=base + timedelta(days=n // ENVIRONMENTS % 7) + (n // lanes) * slot,
            end=base + timedelta(days=n // ENVIRONMENTS % 7) + (n // lanes + 1) * slot,
            state=BookingState.CONFIRMED,
        )
        for n in range(first, upto)
    )


def _measure(world) -> dict:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from releases.models import Release

    manager, approver, *_ = world
    as_manager = Client(SERVER_NAME="127.0.0.1")
    as_manager.force_login(manager)
    as_approver = Client(SERVER_NAME="127.0.0.1")
    as_approver.force_login(approver)
    own = Release.objects.order_by("id").first()
    urls = {
        "release page": (as_manager, reverse("releases:detail", args=[own.pk])),
        "my bookings": (as_manager, "/environments/bookings/"),
        "calendar month": (as_manager, "/calendar/"),
        "calendar agenda": (as_manager, "/calendar/agenda/"),
        "calendar 3 months": (as_manager, "/calendar/quarter/"),
        "environments timeline": (as_manager, "/environments/"),
        "pending API": (as_approver, "/api/v1/signoffs/pending/"),
        "admin pending": (as_approver, reverse("admin:approvals_signoff_pending")),
    }
    results = {}
    for name, (client, url) in urls.items():
        response = client.get(url)  # warm up
        assert response.status_code == 200, (name, response.status_code)
        # DEBUG logs every query, at most 9,000: an empty log lets the count below see them.
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        times = []
        for _ in range(RENDERS):
            began = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - began) * 1000)
        results[name] = {
            "bytes": len(response.content),
            "queries": len(queries),
            "ms": statistics.median(times),
        }
    return results


def _sizes(size: int) -> tuple[int, int, int]:
    """The small size, a tenth of the large one (where the pages have filled up to their
    bounds), and the large one."""
    return SMALL, max(SMALL + 1, size // 10), size


def _child(backend: str, size: int) -> None:
    from django.utils import timezone

    with harness.scratch_database(backend, harness.postgres_url(DEFAULT_POSTGRES)) as url:
        harness.setup_django(url, ALLOWED_HOSTS="127.0.0.1", CELERY_BROKER_URL="memory://")
        from django.db import connection

        now = timezone.now()
        world = _world()
        results = {}
        for rows in _sizes(size):
            _grow(rows, world, now)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            results[str(rows)] = _measure(world)
    print(json.dumps(results))


def main() -> int:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--size", type=int, default=10_000, help="the large size (releases)")
    parser.add_argument("--child", choices=harness.BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.size)
        return 0

    failed = []
    sizes = _sizes(args.size)
    for backend in harness.backends(args.only):
        results = harness.run_child(__file__, "--child", backend, "--size", str(args.size))
        small, middle, large = (results[str(rows)] for rows in sizes)
        shown = ", ".join(f"{n:,}" for n in sizes)
        print(f"\n{LABELS[backend]}: releases (and as many bookings) {shown}")
        print(f"{'page':22}{'KB':>27}{'SQL queries':>21}{'median ms':>27}")
        print(
            f"{'':22}"
            + "".join(f"{n:>9,}" for n in sizes)
            + "".join(f"{n:>7,}" for n in sizes)
            + "".join(f"{n:>9,}" for n in sizes)
        )
        for page in PAGES:
            row = [results[str(rows)][page] for rows in sizes]
            print(
                f"{page:22}"
                + "".join(f"{r['bytes'] / 1024:>9.1f}" for r in row)
                + "".join(f"{r['queries']:>7}" for r in row)
                + "".join(f"{r['ms']:>9.1f}" for r in row)
            )
            if len({r["queries"] for r in row}) != 1:
                failed.append(f"{backend} {page}: queries {[r['queries'] for r in row]}")
            if large[page]["bytes"] > 1.2 * middle[page]["bytes"] + 10_240:
                failed.append(
                    f"{backend} {page}: {middle[page]['bytes']:,} → {large[page]['bytes']:,} bytes"
                )
        del small
    if failed:
        print("\nMissed:\n  " + "\n  ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
