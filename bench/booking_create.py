"""Benchmark: ``booking_create`` (with its conflict check) against 100 and 100,000 bookings.

Run from the project root:

    .venv/bin/python bench/booking_create.py               # SQLite and PostgreSQL
    .venv/bin/python bench/booking_create.py --only sqlite

Each database runs in a child process on a throwaway database: a temporary SQLite file, and a
scratch PostgreSQL database (``relcal_bench`` on the server of ``BENCH_POSTGRES_URL``, default
``postgres://postgres@127.0.0.1:5432/relcal_bench``) that is created and dropped again. The
existing bookings (holding, one hour each with one-hour gaps, spread over 20 environments) are
bulk-inserted; then half of the timed calls book a free gap and half hit an existing booking
and get a Conflict with the next free slot. The ratio of the 100,000 median to the 100 median
must stay below 2: the check reads a few index entries, it does not scan.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta

import harness

SIZES = (100, 100_000)
ENVIRONMENTS = 20
CALLS = 400  # timed booking_create calls per size, half of them conflicts
WARMUP = 40
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/relcal_bench"


def _fill(size: int, base, environments, team, user) -> None:
    """``size`` holding bookings, [base + 2k h, base + 2k h + 1 h) per environment."""
    from django.db import connection

    from environments.models import Booking

    Booking.objects.all().delete()
    per_environment = size // len(environments)
    hour = timedelta(hours=1)
    rows = (
        Booking(
            environment=environment,
            team=team,
            booked_by=user,
            purpose="existing",
            start=base + 2 * k * hour,
            end=base + (2 * k + 1) * hour,
            state="confirmed",
        )
        for environment in environments
        for k in range(per_environment)
    )
    Booking.objects.bulk_create(rows, batch_size=5_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _measure(size: int) -> dict:
    from django.contrib.auth.models import User
    from django.utils import timezone

    from environments import services
    from environments.models import Environment
    from relcal.errors import Conflict
    from releases.models import Team

    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    user, _ = User.objects.get_or_create(username="bench")
    team.members.add(user)
    environments = [
        Environment.objects.get_or_create(
            slug=f"bench-{i}", defaults={"name": f"bench-{i}", "kind": "test"}
        )[0]
        for i in range(ENVIRONMENTS)
    ]
    base = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    _fill(size, base, environments, team, user)
    per_environment = size // ENVIRONMENTS
    hour = timedelta(hours=1)
    rng = random.Random(size)

    def one(conflict: bool) -> tuple[float, bool]:
        environment, k = rng.choice(environments), rng.randrange(per_environment)
        # A conflict: half an hour into an existing booking, anywhere in the calendar. A
        # success: exactly one free gap, touching the bookings on both sides.
        start = base + (2 * k * hour + hour / 2 if conflict else (2 * k + 1) * hour)
        began = time.perf_counter()
        try:
            booking = services.booking_create(
                actor=user,
                environment=environment,
                team=team,
                start=start,
                end=start + hour,
                purpose="bench",
            )
        except Conflict:
            booking = None
        elapsed = (time.perf_counter() - began) * 1000
        assert (booking is None) == conflict, f"expected conflict={conflict} at {environment} {k}"
        if booking is not None:
            booking.delete()  # untimed: the calendar stays the size being measured
        return elapsed, booking is None

    for i in range(WARMUP):
        one(conflict=bool(i % 2))
    latencies = {True: [], False: []}
    for i in range(CALLS):
        elapsed, refused = one(conflict=bool(i % 2))
        latencies[refused].append(elapsed)
    every = latencies[True] + latencies[False]
    return {
        "median": statistics.median(every),
        "p95": harness.p95(every),
        "median_created": statistics.median(latencies[False]),
        "median_conflict": statistics.median(latencies[True]),
    }


def _child(backend: str) -> None:
    """Run the measurements for one database and print them as JSON."""
    with harness.scratch_database(backend, harness.postgres_url(DEFAULT_POSTGRES)) as url:
        harness.setup_django(url)
        results = {str(size): _measure(size) for size in SIZES}
    print(json.dumps(results))


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

    print(f"booking_create, {ENVIRONMENTS} environments, {CALLS} calls per size (half conflicts)")
    print(f"latency in ms; {os.cpu_count()} CPUs\n")
    header = f"{'':24}" + "".join(f"{backend:>26}" for backend in backends)
    print(header)
    print(f"{'':24}" + "".join(f"{'median':>13}{'p95':>13}" for _ in backends))
    for size in SIZES:
        row = f"{f'{size:,} bookings':24}"
        for backend in backends:
            figures = results[backend][str(size)]
            row += f"{figures['median']:>13.2f}{figures['p95']:>13.2f}"
        print(row)
    ok = True
    row = f"{'ratio 100,000 / 100':24}"
    for backend in backends:
        small, large = results[backend][str(SIZES[0])], results[backend][str(SIZES[1])]
        ratio_median, ratio_p95 = large["median"] / small["median"], large["p95"] / small["p95"]
        ok = ok and ratio_median < 2
        row += f"{ratio_median:>13.2f}{ratio_p95:>13.2f}"
    print(row)
    print()
    for backend in backends:
        for size in SIZES:
            figures = results[backend][str(size)]
            print(
                f"{backend:>10} {size:>7,}: created median {figures['median_created']:.2f} ms, "
                f"conflict median {figures['median_conflict']:.2f} ms"
            )
    print("\nratio of medians below 2:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
