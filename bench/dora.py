"""Benchmark: the DORA keys over a year of 1,000,000 production changes and 100,000 incidents on
PostgreSQL, against hand-written SQL for the same numbers, and the Delivery metrics page under
gunicorn.

Run from the project root:

    .venv/bin/python bench/dora.py                      # PostgreSQL
    .venv/bin/python bench/dora.py --changes 100000     # a smaller organisation
    .venv/bin/python bench/dora.py --no-page            # without gunicorn

PostgreSQL only: on SQLite the local-date buckets are Django's Python functions called once per
row (``django_datetime_cast_date``), which is right for a development database and not what a
million rows are for; the engine's SQLite path (window functions for the medians) is covered by
the tests instead.

The child process works on a scratch database (``relcal_bench_dora`` on the server of
``BENCH_POSTGRES_URL``, default ``postgres://postgres@127.0.0.1:5432/relcal_bench_dora``,
created and dropped again), with ``TIME_ZONE=Europe/Berlin``:

1. 20 teams, each with a production environment, a service and 500 releases; the deployments
   (``--changes``, default 1,000,000) spread at random over 2025, nine in ten of one of their
   team's releases, the rest without a release (their environment's team), each a production
   change (a lead time of 1 hour to 15 days, 5 % unknown; 15 % failed) touching its team's
   service; ``--incidents`` (default 100,000) opened at random over the year, 98 % resolved
   within two days, half caused by a deployment (naming its team's service) and one in twenty
   by a release, the others naming a team's service at random. Everything with
   ``INSERT … SELECT generate_series``, then ``ANALYZE``;
2. each key (``delivery.dora.series``) for one team and for all teams, monthly and for the whole
   year, and the summary (``delivery.dora.summary``: the four keys with p90 and bands, five
   aggregates), as a superuser, against hand-written SQL computing the same numbers (checked
   equal first): medians of ``RUNS`` interleaved runs, target engine / SQL ≤ 1.5;
3. with ``gunicorn`` (2 sync workers, ``DEBUG=1``) on the same database, the Delivery metrics
   page for the year (``/delivery/``, weekly trends) for one team and for all teams, signed in
   as the superuser: p50/p95 of ``PAGE_REQUESTS`` requests from 2 clients each.

It prints the figures and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import harness
import readiness  # its gunicorn helpers

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/relcal_bench_dora"
TIME_ZONE = "Europe/Berlin"
TEAMS = 20
CHANGES = 1_000_000
INCIDENTS = 100_000
RELEASES_PER_TEAM = 500
START, END = date(2025, 1, 1), date(2025, 12, 31)
RUNS = 7
TARGET_RATIO = 1.5
PAGE_REQUESTS = {"team": 60, "all": 20}
PAGE_CLIENTS = 2
METRICS = (
    "deployment_frequency",
    "lead_time_for_changes",
    "change_failure_rate",
    "time_to_restore_service",
)


# --- The data ------------------------------------------------------------------------------------


def _build(changes: int, incidents: int) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection

    from environments.models import Environment
    from releases.models import Team
    from reliability.models import Service

    admin = User.objects.create_superuser("bench-admin", "admin@example.com", "x")
    teams = [Team.objects.create(name=f"Team {n:02d}", slug=f"team-{n:02d}") for n in range(TEAMS)]
    envs = [
        Environment.objects.create(
            name=f"prod-{n:02d}", slug=f"prod-{n:02d}", kind="prod", owner_team=team
        )
        for n, team in enumerate(teams)
    ]
    services = [
        Service.objects.create(team=team, name=f"Service {n:02d}", slug=f"service-{n:02d}")
        for n, team in enumerate(teams)
    ]
    params = {
        "envs": [env.pk for env in envs],
        "services": [service.pk for service in services],
        "teams": TEAMS,
        "teams_ids": [team.pk for team in teams],
        "releases": TEAMS * RELEASES_PER_TEAM,
        "per_team": RELEASES_PER_TEAM,
        "start": f"{START.isoformat()} 00:00:00+01",
        "changes": changes,
        "incidents": incidents,
    }
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        # Release r belongs to team r % TEAMS; a tenth of the deployments have no release.
        cursor.execute(
            """
            INSERT INTO releases_release (name, version, description, go_live, strategy,
                rollback_plan, state, freeze_override_reason, created_at, updated_at, team_id,
                sequence)
            SELECT 'Release ' || r, r::text, '', %(start)s::timestamptz, 'big_bang', '',
                   'released', '', %(start)s::timestamptz, %(start)s::timestamptz,
                   (%(teams_ids)s::bigint[])[1 + r %% %(teams)s], 0
            FROM generate_series(0, %(releases)s - 1) AS r
            """,
            params,
        )
        cursor.execute("SELECT min(id) FROM releases_release")
        params["first_release"] = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO environments_deployment (environment_id, release_id, version,
                deployed_at, note, strategy, planned_steps, steps, finished_at, outcome,
                client_id, move_release, hotfix, updated_at)
            SELECT (%(envs)s::bigint[])[1 + team], release, 'v' || i,
                   t - interval '10 minutes', '', 'big_bang', '[]'::jsonb, '[]'::jsonb, t,
                   'succeeded', '', false, false, t
            FROM (SELECT i, i %% %(teams)s AS team,
                         CASE WHEN random() < 0.9
                              THEN %(first_release)s + i %% %(teams)s
                                   + %(teams)s * floor(random() * %(per_team)s)::bigint
                         END AS release,
                         %(start)s::timestamptz + random() * interval '365 days' AS t
                  FROM generate_series(1, %(changes)s) AS i) AS s
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO delivery_productionchange (deployment_id, release_id, team_id,
                finished_at, first_commit_at, lead_time_seconds, failed, failure)
            SELECT id, release_id, owner, finished_at, finished_at - lead * interval '1 second',
                   lead, failed, CASE WHEN failed THEN 'incident' ELSE '' END
            FROM (SELECT d.id, d.release_id, COALESCE(r.team_id, e.owner_team_id) AS owner,
                         d.finished_at,
                         CASE WHEN random() < 0.05 THEN NULL
                              ELSE (3600 + random() * random() * 1296000)::bigint END AS lead,
                         random() < 0.15 AS failed
                  FROM environments_deployment d
                  JOIN environments_environment e ON e.id = d.environment_id
                  LEFT JOIN releases_release r ON r.id = d.release_id) AS s
            """
        )
        cursor.execute(
            """
            INSERT INTO delivery_changeservice (change_id, service_id, finished_at,
                lead_time_seconds, failed)
            SELECT c.id, v.id, c.finished_at, c.lead_time_seconds, c.failed
            FROM delivery_productionchange c JOIN reliability_service v ON v.team_id = c.team_id
            """
        )
        cursor.execute("SELECT min(id), count(*) FROM environments_deployment")
        first, count = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO delivery_incident (title, severity, opened_at, resolved_at, url,
                external_id, deployment_id, release_id, source_id, reported_by_id, created_at,
                updated_at)
            SELECT 'Incident ' || i, 'sev3', o,
                   CASE WHEN random() < 0.98
                        THEN o + (60 + random() * random() * 172800) * interval '1 second' END,
                   '', '',
                   CASE WHEN cause < 0.5
                        THEN %(first)s + floor(random() * %(count)s)::bigint END,
                   CASE WHEN cause >= 0.95
                        THEN %(first_release)s + floor(random() * %(releases)s)::bigint END,
                   NULL, NULL, o, o
            FROM (SELECT i, random() AS cause,
                         %(start)s::timestamptz + random() * interval '365 days' AS o
                  FROM generate_series(1, %(incidents)s) AS i) AS s
            """,
            {**params, "first": first, "count": count},
        )
        cursor.execute(
            """
            INSERT INTO delivery_incident_services (incident_id, service_id)
            SELECT i.id, COALESCE(v.id, (%(services)s::bigint[])[1 + i.id %% %(teams)s])
            FROM delivery_incident i
            LEFT JOIN delivery_productionchange c ON c.deployment_id = i.deployment_id
            LEFT JOIN reliability_service v ON v.team_id = c.team_id
            """,
            params,
        )
        cursor.execute("ANALYZE")
    return {
        "admin": admin,
        "team": teams[1],
        "seconds": time.perf_counter() - started,
        "rows": {"changes": changes, "incidents": incidents},
    }


# --- The floor: the same numbers in hand-written SQL ---------------------------------------------

INCIDENTS_OF_TEAM = """
    AND (i.id IN (SELECT s.incident_id FROM delivery_incident_services s
                  JOIN reliability_service v ON v.id = s.service_id WHERE v.team_id = %(team)s)
         OR i.release_id IN (SELECT id FROM releases_release WHERE team_id = %(team)s)
         OR i.deployment_id IN (
             SELECT id FROM environments_deployment
             WHERE release_id IN (SELECT id FROM releases_release WHERE team_id = %(team)s))
         OR i.deployment_id IN (
             SELECT id FROM environments_deployment WHERE release_id IS NULL
             AND environment_id IN (
                 SELECT id FROM environments_environment WHERE owner_team_id = %(team)s)))
"""


def _changes_from(team) -> str:
    where = "finished_at >= %(since)s AND finished_at < %(until)s"
    if team is not None:
        where += " AND team_id = %(team)s"
    return f"FROM delivery_productionchange WHERE {where}"


def _incidents_from(team, *, caused: bool) -> str:
    where = "resolved_at >= %(since)s AND resolved_at < %(until)s"
    if caused:
        where += " AND (deployment_id IS NOT NULL OR release_id IS NOT NULL)"
    return f"FROM delivery_incident i WHERE {where}" + (INCIDENTS_OF_TEAM if team else "")


RESTORE = "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM resolved_at - opened_at))"


def _floor_series(metric: str, interval: str, team) -> str:
    column = "resolved_at" if metric == "time_to_restore_service" else "finished_at"
    bucket = (
        f"date_trunc('month', {column} AT TIME ZONE %(tz)s)::date"
        if interval == "monthly"
        else "NULL::date"
    )
    value = {
        "deployment_frequency": "count(*)",
        "lead_time_for_changes": "percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_time_seconds)",
        "change_failure_rate": "count(*) FILTER (WHERE failed)::float / count(*)",
        "time_to_restore_service": RESTORE,
    }[metric]
    source = (
        _incidents_from(team, caused=True)
        if metric == "time_to_restore_service"
        else _changes_from(team)
    )
    return f"SELECT {bucket}, {value} {source} GROUP BY 1"


def _floor_summary(team) -> list[str]:
    open_at_end = (
        "SELECT count(*) FROM delivery_incident i WHERE opened_at < %(until)s "
        "AND (resolved_at IS NULL OR resolved_at >= %(until)s)"
        + (INCIDENTS_OF_TEAM if team else "")
    )
    return [
        "SELECT count(*), count(*) FILTER (WHERE failed), count(lead_time_seconds), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_time_seconds), "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_time_seconds) " + _changes_from(team),
        "SELECT DISTINCT (finished_at AT TIME ZONE %(tz)s)::date " + _changes_from(team),
        f"SELECT count(*), {RESTORE} " + _incidents_from(team, caused=True),
        f"SELECT count(*), {RESTORE} " + _incidents_from(team, caused=False),
        open_at_end,
    ]


def _run_sql(statements: list[str], params: dict) -> list[list[tuple]]:
    from django.db import connection

    out = []
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, params)
            out.append(cursor.fetchall())
    return out


# --- Measuring -----------------------------------------------------------------------------------


def _same(engine: list[dict], floor: list[tuple]) -> bool:
    """The engine's points equal the floor's rows (buckets without rows: 0 or None)."""
    found = dict(floor)
    for point in engine:
        expected = found.get(point["date"], found.get(None))
        if expected is None or point["value"] is None:
            if (expected or 0) != (point["value"] or 0):
                return False
        elif abs(float(expected) - point["value"]) > 0.001:
            return False
    return True


def _timed(engine, floor) -> tuple[float, float]:
    """Medians (ms) of ``RUNS`` interleaved runs of each, after a warm-up run."""
    engine(), floor()
    engine_times, floor_times = [], []
    for _ in range(RUNS):
        for function, times in ((engine, engine_times), (floor, floor_times)):
            began = time.perf_counter()
            function()
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(engine_times), statistics.median(floor_times)


def _measure(world: dict) -> list[dict]:
    from delivery import dora

    admin, team = world["admin"], world["team"]
    since, until = dora.bounds(START, END)
    cases = []
    for scope in ("team", "all"):
        team_slug = team.slug if scope == "team" else None
        params = {"since": since, "until": until, "tz": TIME_ZONE, "team": team.pk}
        for metric in METRICS:
            for interval in ("monthly", "all"):
                sql = _floor_series(metric, interval, team_slug)

                def engine(metric=metric, interval=interval, team_slug=team_slug):
                    return dora.series(
                        metric,
                        start=START,
                        end=END,
                        interval=interval,
                        user=admin,
                        team=team_slug,
                    )

                def floor(sql=sql, params=params):
                    return _run_sql([sql], params)[0]

                same = _same(engine(), floor())
                engine_ms, floor_ms = _timed(engine, floor)
                cases.append(
                    {
                        "scope": scope,
                        "what": f"{metric} {interval}",
                        "same": same,
                        "engine_ms": engine_ms,
                        "floor_ms": floor_ms,
                    }
                )
        statements = _floor_summary(team_slug)

        def summary(team_slug=team_slug):
            return dora.summary(start=START, end=END, user=admin, team=team_slug)

        def floor_summary(statements=statements, params=params):
            return _run_sql(statements, params)

        result, rows = summary(), floor_summary()
        totals = rows[0][0]
        same = (
            result.deployments == totals[0]
            and result.failed == totals[1]
            and abs(result.lead_time_median - totals[3]) < 0.001
            and abs(result.lead_time_p90 - totals[4]) < 0.001
            and len(result.deployment_days.days) == len(rows[1])
            and abs(result.time_to_restore_median - rows[2][0][1]) < 0.001
            and abs(result.time_to_restore_all_median - rows[3][0][1]) < 0.001
            and result.open_incidents == rows[4][0][0]
        )
        engine_ms, floor_ms = _timed(summary, floor_summary)
        cases.append(
            {
                "scope": scope,
                "what": "summary (5 aggregates)",
                "same": same,
                "engine_ms": engine_ms,
                "floor_ms": floor_ms,
                "bands": {key: str(value) for key, value in result.bands.items()},
            }
        )
    return cases


# --- The page under gunicorn ---------------------------------------------------------------------


def _session(user) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _load(url: str, cookie: str, requests_: int) -> dict:
    """``requests_`` GETs of ``url`` from ``PAGE_CLIENTS`` threads: latencies and statuses."""
    import requests

    lock = threading.Lock()
    left = [requests_]
    latencies, statuses = [], {}

    def client() -> None:
        with requests.Session() as session:
            session.cookies.set("sessionid", cookie)
            while True:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                began = time.perf_counter()
                status = str(session.get(url, timeout=300, allow_redirects=False).status_code)
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(PAGE_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "requests": len(latencies),
        "p50": statistics.median(latencies),
        "p95": harness.p95(latencies),
        "statuses": statuses,
    }


def _pages(database_url: str, var_dir: str, world: dict) -> dict:
    from django.db import connections

    cookie = _session(world["admin"])
    connections.close_all()
    port = readiness._free_port()
    base = f"http://127.0.0.1:{port}"
    environ = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "RELCAL_VAR_DIR": var_dir,
        "TIME_ZONE": TIME_ZONE,
        "DJANGO_SETTINGS_MODULE": "relcal.settings",
        "CELERY_BROKER_URL": "memory://",
        "LOG_LEVEL": "WARNING",
    }
    log = Path(var_dir) / "gunicorn.log"
    command = [readiness._gunicorn(), "relcal.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--timeout", "300"]
    with log.open("w") as output:
        server = subprocess.Popen(
            command, cwd=harness.ROOT, env=environ, stdout=output, stderr=subprocess.STDOUT
        )
    year = f"period=custom&start_date={START}&end_date={END}&interval=weekly"
    urls = {
        "team": f"{base}/delivery/?{year}&team={world['team'].slug}",
        "all": f"{base}/delivery/?{year}",
    }
    try:
        readiness._wait_until_up(server, f"{base}/healthz", "", log)
        out = {}
        for scope, url in urls.items():
            _load(url, cookie, PAGE_CLIENTS)  # warm-up
            out[scope] = _load(url, cookie, PAGE_REQUESTS[scope])
        out["load"] = os.getloadavg()[0]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    out["errors"] = [
        line for line in log.read_text().splitlines() if "Traceback" in line or "ERROR" in line
    ]
    return out


# --- The child and the parent --------------------------------------------------------------------


def _child(changes: int, incidents: int, page: bool) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="relcal-bench-var-") as var_dir,
        harness.scratch_database("postgresql", harness.postgres_url(DEFAULT_POSTGRES)) as url,
    ):
        harness.setup_django(
            url,
            CELERY_BROKER_URL="memory://",
            RELCAL_VAR_DIR=var_dir,
            TIME_ZONE=TIME_ZONE,
            ALLOWED_HOSTS="127.0.0.1",
        )
        import logging

        from django.conf import settings

        logging.disable(logging.WARNING)
        settings.DEBUG = False  # in process as in production: no query log
        world = _build(changes, incidents)
        results = {"build": {"seconds": world["seconds"], **world["rows"]}}
        results["cases"] = _measure(world)
        if page:
            results["page"] = _pages(url, var_dir, world)
    print(json.dumps(results))


def _report(results: dict) -> bool:
    build = results["build"]
    print(
        f"DORA keys over {START.year}: {build['changes']:,} production changes and "
        f"{build['incidents']:,} incidents in {TEAMS} teams (built in {build['seconds']:.0f} s); "
        f"PostgreSQL; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}"
    )
    print(f"\n{'scope':<6}{'what':<38}{'engine ms':>11}{'SQL ms':>10}{'ratio':>8}  same")
    ok = True
    for case in results["cases"]:
        ratio = case["engine_ms"] / case["floor_ms"]
        met = ratio <= TARGET_RATIO and case["same"]
        ok &= met
        print(
            f"{case['scope']:<6}{case['what']:<38}{case['engine_ms']:>11.1f}"
            f"{case['floor_ms']:>10.1f}{ratio:>8.2f}  {'yes' if case['same'] else 'NO'}"
            f"{'' if met else '  MISS'}"
        )
        if "bands" in case:
            print(f"      bands: {case['bands']}")
    page = results.get("page")
    if page:
        print(
            f"\nDelivery metrics page for {START.year}, weekly trends, under gunicorn "
            f"(2 workers, {PAGE_CLIENTS} clients; load average {page['load']:.1f}):"
        )
        for scope in ("team", "all"):
            figures = page[scope]
            print(
                f"  {scope:<5} {figures['requests']} requests: p50 {figures['p50']:.0f} ms, "
                f"p95 {figures['p95']:.0f} ms, statuses {figures['statuses']}"
            )
            ok &= set(figures["statuses"]) == {"200"}
        if page["errors"]:
            print("  server errors:", *page["errors"][:5], sep="\n    ")
            ok = False
    print("\nall targets met:", "yes" if ok else "NO")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=CHANGES)
    parser.add_argument("--incidents", type=int, default=INCIDENTS)
    parser.add_argument("--no-page", action="store_true", help="skip the page under gunicorn")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.changes, args.incidents, not args.no_page)
        return 0
    child_args = ["--child", "--changes", str(args.changes), "--incidents", str(args.incidents)]
    if args.no_page:
        child_args.append("--no-page")
    try:
        results = harness.run_child(__file__, *child_args)
    except subprocess.CalledProcessError as error:
        print(error.stderr[-3000:], file=sys.stderr)
        raise
    return 0 if _report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
