"""Benchmark: SLO evaluation: 200 SLOs from a live Prometheus holding 28 days of history, and the
budget and burn rates of 28 days of 1-minute pushed measurements against a plain SQL aggregate.

Run from the project root:

    .venv/bin/python bench/slo.py                    # SQLite and PostgreSQL
    .venv/bin/python bench/slo.py --only sqlite      # or --only postgresql

The parent starts one Prometheus (Debian's ``prometheus``, ``tests.prometheus``) on a free port
with a temporary data folder, backfilled with ``promtool tsdb create-blocks-from openmetrics``:
200 services, each with a good (``code="200"``) and a bad (``code="500"``) request counter over
29 days at 100 requests a second. Samples are 5 minutes apart until a day before the end and 1
minute apart in the last day (``tests.reliability.history``), so that 5-minute windows have
data while the backfill stays near 4 million samples. A tenth of the services burn at 20× in
the last hour, a tenth at 2× throughout, a tenth at 0.8×, the rest at 0.5×.

Each database runs in a child process on a throwaway database (a temporary SQLite file; a
scratch PostgreSQL database ``relcal_bench_slo`` on the server of ``BENCH_POSTGRES_URL``,
default ``postgres://postgres@127.0.0.1:5432/relcal_bench_slo``, created and dropped again):

1. 200 SLOs (99.9 % over 28 days, good and total expressions) read that Prometheus:
   ``evaluation.evaluate_all`` at the end of the history, timed (median of runs), with the
   HTTP queries Prometheus counted (``prometheus_http_requests_total``) per SLO, and the SQL
   queries of a run for 200 SLOs and for 20: the same number per SLO (every receiver of
   ``slo_evaluated`` connected, as in production);
2. one SLO with 28 days of 1-minute pushed measurements (40,320 rows; a second SLO holds as
   many beside them): the budget and burn-rate computation (``sources.windows_for`` and
   ``budget.figures``: one statement summing the slices between the windows' starts) against
   the plain
   ``SELECT SUM(good), SUM(total) FROM reliability_measurement WHERE slo_id = ? AND "end" > ?``
   over the same rows; target: at most 1.5 times its time.

It prints the figures and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import harness

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/relcal_bench_slo"
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

SLOS = 200
FEW = 20  # the SQL queries of a run are also counted at this size
RUNS = 5  # timed evaluate_all runs
ROWS = 28 * 24 * 60  # 1-minute measurements over 28 days
AGGREGATE_RUNS = 40
TARGET_RATIO = 1.5


def _profile(index: int) -> dict:
    """The error rates (a second, of 100 requests) of the ``index``-th service."""
    if index % 10 == 0:
        return {"errors": 0.05, "bursts": [(timedelta(hours=1), 2.0)]}  # pages
    if index % 10 == 1:
        return {"errors": 0.2}  # exhausted, ticket
    if index % 10 == 2:
        return {"errors": 0.08}  # at risk
    return {"errors": 0.05}  # healthy


def _service(index: int) -> str:
    return f"svc-{index:03d}"


# --- The child: one database ----------------------------------------------------------------------


def _prometheus_part(prometheus_url: str) -> dict:
    import requests
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from releases.models import Team
    from reliability import evaluation
    from reliability.models import SLO, Service
    from tests.reliability import history

    end = history.END
    team = Team.objects.create(name="Bench", slug="bench", color="#123456")
    for index in range(SLOS):
        service = Service.objects.create(team=team, name=_service(index), slug=_service(index))
        SLO.objects.create(
            service=service,
            name="availability",
            objective="99.9",
            source="prometheus",
            prometheus_url=prometheus_url,
            **history.queries(_service(index)),
        )

    def served() -> float:
        # Prometheus's own counter of answered queries, read from its /metrics (not a query).
        text = requests.get(prometheus_url + "/metrics", timeout=10).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("prometheus_http_requests_total{")
            and 'handler="/api/v1/query"' in line
        )

    evaluation.evaluate_all(now=end - timedelta(seconds=RUNS + 2))  # warm up (first freezes)
    times, counts = [], None
    before = served()
    for run in range(RUNS):
        start = time.perf_counter()
        counts = evaluation.evaluate_all(now=end - timedelta(seconds=RUNS - run))
        times.append(time.perf_counter() - start)
    http_queries = served() - before
    # DEBUG logs every query in a deque of 9,000: empty it, or a full log counts nothing.
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        evaluation.evaluate_all(now=end)
    many = len(queries)
    SLO.objects.filter(
        pk__in=list(SLO.objects.order_by("pk").values_list("pk", flat=True)[FEW:])
    ).delete()
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        evaluation.evaluate_all(now=end + timedelta(seconds=1))
    few = len(queries)
    SLO.objects.all().delete()
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "counts": counts,
        "http_per_slo": http_queries / (RUNS * SLOS),
        "sql_many": many,
        "sql_few": few,
    }


def _pushed_part() -> dict:
    from django.db import connection

    from releases.models import Team
    from reliability import budget, sources
    from reliability.models import SLO, Measurement, Service
    from tests.reliability.history import END

    team, _ = Team.objects.get_or_create(name="Pushers", slug="pushers", color="#654321")
    service = Service.objects.create(team=team, name="pushed", slug="pushed")
    slo, neighbour = (
        SLO.objects.create(service=service, name=name, objective="99.9", source="pushed")
        for name in ("availability", "neighbour")
    )
    for owner in (slo, neighbour):
        rows = []
        for minute in range(ROWS):
            stop = END - timedelta(minutes=minute)
            bad = 120 if minute < 60 else minute % 2  # 20x in the last hour, then 1 in 12,000
            rows.append(
                Measurement(
                    slo=owner,
                    start=stop - timedelta(minutes=1),
                    end=stop,
                    good=6_000 - bad,
                    total=6_000,
                )
            )
        Measurement.objects.bulk_create(rows, batch_size=5_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    since = END - timedelta(days=slo.window_days)
    sql = (
        'SELECT SUM(good), SUM(total) FROM reliability_measurement WHERE slo_id = %s AND "end" > %s'
    )

    def plain():
        with connection.cursor() as cursor:
            cursor.execute(sql, [slo.pk, since])
            return cursor.fetchone()

    def engine():
        readings = sources.windows_for(slo, END)
        return budget.figures(readings, objective=0.999, window_days=28, at_risk_below=0.25)

    # The same rows: the SLO window's sums equal the plain aggregate's.
    engine_readings = sources.windows_for(slo, END)["28d"]
    if tuple(engine_readings) != tuple(plain()):
        raise RuntimeError(f"the sums differ: {engine_readings} and {plain()}")
    for _ in range(3):
        plain(), engine()
    plain_times, engine_times = [], []
    for _ in range(AGGREGATE_RUNS):  # interleaved, so that a noisy moment hits both
        for function, times in ((plain, plain_times), (engine, engine_times)):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    figures = engine()
    return {
        "rows": Measurement.objects.filter(slo=slo).count(),
        "plain_ms": statistics.median(plain_times) * 1000,
        "engine_ms": statistics.median(engine_times) * 1000,
        "sums": list(engine_readings),
        "burn_1h": figures.burn_rates["1h"],
        "remaining": figures.budget_remaining,
        "alert": figures.alert,
    }


def _child(backend: str, prometheus_url: str) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="relcal-bench-var-") as var_dir,
        harness.scratch_database(backend, harness.postgres_url(DEFAULT_POSTGRES)) as url,
    ):
        harness.setup_django(url, CELERY_BROKER_URL="memory://", RELCAL_VAR_DIR=var_dir)
        import logging

        logging.disable(logging.WARNING)
        results = {"prometheus": _prometheus_part(prometheus_url), "pushed": _pushed_part()}
    print(json.dumps(results))


# --- The parent -----------------------------------------------------------------------------------


def _report(backend: str, r: dict, backfill: dict) -> bool:
    p, m = r["prometheus"], r["pushed"]
    per_many = (p["sql_many"] - p["sql_few"]) / (SLOS - FEW)
    fixed = p["sql_few"] - per_many * FEW
    ratio = m["engine_ms"] / m["plain_ms"]
    print(f"\n== {LABELS[backend]} ==")
    print(
        f"1. evaluate_all, {SLOS} SLOs from Prometheus (28-day window, {backfill['samples']:,} "
        f"backfilled samples): median {p['median_s']:.2f} s, fastest {p['min_s']:.2f} s "
        f"({p['median_s'] / SLOS * 1000:.1f} ms per SLO)"
    )
    print(f"   states: {p['counts']}")
    print(f"   HTTP queries per SLO: {p['http_per_slo']:.1f} (good and total over 7 windows)")
    print(
        f"   SQL queries per run: {p['sql_few']} for {FEW} SLOs, {p['sql_many']} for {SLOS}: "
        f"{per_many:g} per SLO + {fixed:g}"
    )
    print(
        f"2. {m['rows']:,} pushed 1-minute measurements: budget and burn rates "
        f"{m['engine_ms']:.2f} ms, plain SUM aggregate {m['plain_ms']:.2f} ms, "
        f"ratio {ratio:.2f} (target <= {TARGET_RATIO})"
    )
    print(
        f"   (28-day sums {m['sums']}; 1 h burn {m['burn_1h']:g}x, budget left "
        f"{m['remaining']:.1%}, alert {m['alert'] or 'none'})"
    )
    checks = [
        ("every SLO evaluated", sum(p["counts"].values()) == SLOS and p["counts"]["no_data"] == 0),
        ("same SQL queries per SLO at 20 and 200", per_many == int(per_many) and fixed >= 0),
        (f"pushed computation / plain aggregate <= {TARGET_RATIO}", ratio <= TARGET_RATIO),
    ]
    for label, ok in checks:
        print(f"   {'ok  ' if ok else 'MISS'} {label}")
    return all(ok for _, ok in checks)


def _backfill() -> dict:
    from tests.reliability import history

    series: dict = {}
    for index in range(SLOS):
        series.update(history.requests_history(_service(index), **_profile(index)))
    return series


def main() -> int:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--child", choices=harness.BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--prometheus", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.prometheus)
        return 0

    from tests import prometheus

    if not prometheus.AVAILABLE:
        print("Prometheus is not installed: apt-get install -y prometheus")
        return 1
    series = _backfill()
    samples = sum(len(values) for values in series.values())
    start = time.perf_counter()
    with prometheus.PrometheusServer(history=series) as server:
        ready = time.perf_counter() - start
        del series
        results = {}
        for backend in harness.backends(args.only):
            try:
                results[backend] = harness.run_child(
                    __file__, "--child", backend, "--prometheus", server.url
                )
            except subprocess.CalledProcessError as error:
                print(error.stderr[-3000:], file=sys.stderr)
                raise
    print(
        f"SLO evaluation: {SLOS} services x 2 series backfilled ({samples:,} samples, "
        f"Prometheus ready in {ready:.0f} s); {os.cpu_count()} CPUs; Python "
        f"{sys.version.split()[0]}"
    )
    met = [_report(backend, results[backend], {"samples": samples}) for backend in results]
    ok = all(met)
    print("\nall targets met:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
