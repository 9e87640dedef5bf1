"""Benchmark: a feed's cost as the sign-off queue and the history grow (issue 16, items 2-4).

Run from the project root:

    .venv/bin/python bench/feed_history.py                        # SQLite and PostgreSQL
    .venv/bin/python bench/feed_history.py --only postgresql      # or --only sqlite
    .venv/bin/python bench/feed_history.py --awaiting 1000 --releases 3000   # a quicker run

Each database runs in a child process on a throwaway database (a temporary SQLite file; a
scratch PostgreSQL database ``relcal_feed_history_bench`` on the server of
``BENCH_POSTGRES_URL``, created and dropped again). For a superuser's feed token (every row
visible) it measures, side by side:

1. **The 304 as releases await sign-off**: 10, then ``--awaiting`` (3,336, the count of the
   issue) releases in scope frozen or testing, each with three scope items, a go/no-go and a
   code-freeze milestone, a dependency, two required roles and one sign-off. The sign-off
   deadlines' fingerprint as it was (ten correlated subqueries per release, kept below as the
   baseline) and as it is (one aggregate per table), then the 304 of a sign-off-only feed and
   of the master feed. Target: the new fingerprint at 3,336 releases costs at most 3x what it
   costs at 10, and at least 5x less than the old one at 3,336.
2. **The full master feed with and without history**: ``--releases`` (10,000) releases over two
   years (shipped ones in the past, planned ones ahead), two milestones each, 500 freezes, and
   10,000 bookings (8,000 twenty-minute CI holds released or cancelled over the last four weeks,
   2,000 planned three-hour slots). With the feeds' limits (the defaults: 90 days back, bookings
   48 hours after they end, no CI holds) and without them (the old behaviour: no horizon,
   bookings 30 days, CI holds in). Events, megabytes, median time, and the Python heap's peak
   during a render (tracemalloc) per 1,000 events. Target: with limits, fewer than a third of
   the events and a peak under 3 MB per 1,000 events.

It prints the figures and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tracemalloc
from datetime import timedelta

import harness

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/relcal_feed_history_bench"
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
CONDITIONAL_RUNS = 20
FULL_RUNS = 3
NO_LIMITS = {
    "RELCAL_FEED_PAST_DAYS": 100 * 365,
    "RELCAL_FEED_BOOKING_HOURS": 30 * 24,
    "RELCAL_FEED_CI_HOLD_MINUTES": 0,
}


# --- The sign-off fingerprint as it was (the baseline of part 1) --------------------------------


def _old_signoff_fingerprint(query):
    """``approvals.calendar.fingerprint`` before issue 16: about ten correlated subqueries per
    release awaiting sign-off, summed over the releases in one query."""
    from django.db.models import Count, IntegerField, Max, OuterRef, Subquery, Sum
    from django.db.models.functions import Coalesce

    from approvals.calendar import _releases
    from approvals.models import ReleaseRequirement, SignOff
    from releases.models import Milestone, ReleaseDependency, ScopeItem

    def per_release(model, aggregate, field="pk"):
        rows = (
            model.objects.filter(release=OuterRef("pk"))
            .order_by()
            .values("release")
            .annotate(value=aggregate(field))
            .values("value")
        )
        return Subquery(rows)

    number = IntegerField()
    columns = {
        "signoffs": Coalesce(per_release(SignOff, Max), 0, output_field=number),
        "signed": per_release(SignOff, Max, "signed_at"),
        "scope": Coalesce(per_release(ScopeItem, Count), 0, output_field=number),
        "scope_at": per_release(ScopeItem, Max, "updated_at"),
        "milestones": Coalesce(per_release(Milestone, Sum, "sequence"), 0, output_field=number),
        "milestones_n": Coalesce(per_release(Milestone, Count), 0, output_field=number),
        "milestone_at": per_release(Milestone, Max, "updated_at"),
        "needs": Coalesce(per_release(ReleaseDependency, Sum), 0, output_field=number),
        "needs_n": Coalesce(per_release(ReleaseDependency, Count), 0, output_field=number),
        "needs_at": per_release(ReleaseDependency, Max, "depends_on__updated_at"),
        "required": Coalesce(per_release(ReleaseRequirement, Count), 0, output_field=number),
    }
    return (
        _releases(query)
        .annotate(**{f"fp_{name}": value for name, value in columns.items()})
        .aggregate(
            count=Count("pk"),
            **{
                name: (Max if name.endswith("_at") or name == "signed" else Sum)(f"fp_{name}")
                for name in columns
            },
        )
    )


# --- Data ---------------------------------------------------------------------------------------


def _team():
    from releases.models import Team

    return Team.objects.get_or_create(slug="payments", defaults={"name": "Payments"})[0]


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _add_awaiting(count: int, signer) -> None:
    """``count`` more releases awaiting sign-off (sign-offs are append-only: never deleted)."""
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from approvals.models import ReleaseRequirement, SignOff
    from releases.models import Milestone, Release, ReleaseDependency, ScopeItem

    team = _team()
    group, _ = Group.objects.get_or_create(name="Product approvers")
    now = timezone.now()
    base = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=20)
    offset = Release.objects.filter(state__in=("scope_frozen", "testing")).count()
    last = Release.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    Release.objects.bulk_create(
        (
            Release(
                team=team,
                name=f"Payments 9.{n}-rc",
                version=f"9.{n}-rc",
                go_live=base + timedelta(hours=n),
                window_end=base + timedelta(hours=n, minutes=90),
                state=("scope_frozen", "testing")[n % 2],
            )
            for n in range(offset, offset + count)
        ),
        batch_size=2_000,
    )
    releases = list(Release.objects.filter(pk__gt=last).only("pk", "go_live").order_by("pk"))
    ScopeItem.objects.bulk_create(
        (
            ScopeItem(release=release, title=f"Item {k}", ticket_key=f"PAY-{release.pk}-{k}")
            for release in releases
            for k in range(3)
        ),
        batch_size=2_000,
    )
    Milestone.objects.bulk_create(
        (
            milestone
            for release in releases
            for milestone in (
                Milestone(
                    release=release, kind="go_no_go", at=release.go_live - timedelta(hours=3)
                ),
                Milestone(
                    release=release,
                    kind="code_freeze",
                    date=(release.go_live - timedelta(days=5)).date(),
                ),
            )
        ),
        batch_size=2_000,
    )
    ReleaseDependency.objects.bulk_create(
        (
            ReleaseDependency(release=later, depends_on=earlier, kind="needs")
            for earlier, later in itertools.pairwise(releases)
        ),
        batch_size=2_000,
    )
    ReleaseRequirement.objects.bulk_create(
        (
            ReleaseRequirement(
                release=release,
                role=role,
                group=group,
                group_name=group.name,
                count=1,
                segregation_of_duties=False,
                policy_name="Default",
                taken_at=now,
            )
            for release in releases
            for role in ("product", "legal")
        ),
        batch_size=2_000,
    )
    SignOff.objects.bulk_create(
        (
            SignOff(
                release=release,
                role="product",
                signer=signer,
                signer_name="Bench",
                decision="approve",
                meaning="approved_for_release",
                signed_at=now,
                fingerprint="0" * 64,
                snapshot={},
            )
            for release in releases
        ),
        batch_size=2_000,
    )
    _analyze()


def _fill_history(count: int) -> None:
    """``count`` releases over two years and a bit ahead, two milestones each, 500 freezes,
    10,000 bookings (mostly CI churn)."""
    from django.utils import timezone

    from environments.models import Booking, Environment
    from releases.models import FreezeWindow, Milestone, Release

    team = _team()
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(days=730)
    step = timedelta(days=820) / count
    Release.objects.bulk_create(
        (
            Release(
                team=team,
                name=f"Payments {n}.0",
                version=f"{n}.0",
                go_live=(go_live := first + n * step),
                window_end=go_live + timedelta(minutes=90),
                state="released" if go_live < now else ("planned", "approved")[n % 2],
                description="Cards, wallets; the usual",
            )
            for n in range(count)
        ),
        batch_size=2_000,
    )
    Milestone.objects.bulk_create(
        (
            milestone
            for release in Release.objects.only("pk", "go_live", "state")
            for milestone in (
                Milestone(
                    release=release,
                    kind="code_freeze",
                    date=(release.go_live - timedelta(days=2)).date(),
                    done=release.state == "released",
                ),
                Milestone(
                    release=release,
                    kind="scope_freeze",
                    date=(release.go_live - timedelta(days=30)).date(),
                    done=release.state == "released",
                ),
            )
        ),
        batch_size=2_000,
    )
    FreezeWindow.objects.bulk_create(
        (
            FreezeWindow(
                name=f"Freeze {n}",
                reason="Busy season.",
                start=first + timedelta(days=1.64 * n),
                end=first + timedelta(days=1.64 * n + 1),
                team=team if n % 2 else None,
            )
            for n in range(500)
        ),
        batch_size=2_000,
    )
    qa, _ = Environment.objects.get_or_create(slug="qa", defaults={"name": "qa", "kind": "test"})
    staging, _ = Environment.objects.get_or_create(
        slug="staging", defaults={"name": "staging", "kind": "staging"}
    )
    holds = now - timedelta(days=28)
    Booking.objects.bulk_create(
        (
            Booking(
                environment=qa,
                team=team,
                purpose=f"CI pipeline #{n}",
                acquired=True,  # a pipeline's hold (acquire)
                start=(start := holds + timedelta(minutes=5 * n)),
                end=start + timedelta(minutes=20),
                state=("released_early", "cancelled")[n % 2],
                ended_at=start + timedelta(minutes=(4, 0)[n % 2]),
            )
            for n in range(8_000)
        ),
        batch_size=2_000,
    )
    slots = now - timedelta(days=500)
    Booking.objects.bulk_create(
        (
            Booking(
                environment=staging,
                team=team,
                purpose=f"Load test {n}",
                start=(start := slots + timedelta(hours=12 * n)),
                end=(end := start + timedelta(hours=3)),
                state="expired" if end < now else "confirmed",
                ended_at=end if end < now else None,
            )
            for n in range(2_000)
        ),
        batch_size=2_000,
    )
    _analyze()


# --- Measuring ----------------------------------------------------------------------------------


def _measure(awaiting: int, releases: int) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import RequestFactory, override_settings
    from django.test.utils import CaptureQueriesContext

    from approvals import calendar as signoffs
    from calendars import feeds, tokens

    admin = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "x"
    )
    _, master = tokens.feed_token_create(actor=admin, name="master")
    _, deadlines = tokens.feed_token_create(
        actor=admin, name="deadlines", filters={"kinds": ["signoff_deadline"]}
    )
    factory = RequestFactory(HTTP_HOST="127.0.0.1")

    def get(raw, **headers):
        return feeds.feed(factory.get(f"/feeds/{raw}.ics", headers=headers), token=raw)

    def not_modified(raw):
        etag = get(raw)["ETag"]
        assert get(raw, **{"If-None-Match": etag}).status_code == 304
        with CaptureQueriesContext(connection) as captured:
            get(raw, **{"If-None-Match": etag})
        seconds = harness.median_seconds(
            lambda: get(raw, **{"If-None-Match": etag}), CONDITIONAL_RUNS
        )
        return seconds, len(captured)

    results: dict = {"vendor": connection.vendor, "awaiting": awaiting, "releases": releases}
    get(master), get(deadlines)  # record last_used_at, so that later requests only read

    # Part 2 first, on its own: the history.
    _fill_history(releases)
    for label, overrides in (("limits", {}), ("history", NO_LIMITS)):
        with override_settings(**overrides):
            body = get(master).content
            results[f"{label}_events"] = body.count(b"BEGIN:VEVENT")
            results[f"{label}_bytes"] = len(body)
            del body
            results[f"{label}_s"] = harness.median_seconds(lambda: get(master), FULL_RUNS)
            results[f"{label}_304_s"] = not_modified(master)[0]
            tracemalloc.start()
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            get(master)
            results[f"{label}_peak"] = tracemalloc.get_traced_memory()[1] - base
            tracemalloc.stop()

    # Part 1 on top of it, as in the issue (10,013 releases, 3,336 of them awaiting sign-off).
    for size, more in ((10, 10), (awaiting, awaiting - 10)):
        _add_awaiting(more, admin)
        query = feeds.feed_query(admin, {"kinds": ["signoff_deadline"]})
        results[f"old_fp_{size}"] = harness.median_seconds(
            lambda q=query: _old_signoff_fingerprint(q), CONDITIONAL_RUNS
        )
        results[f"new_fp_{size}"] = harness.median_seconds(
            lambda q=query: signoffs.fingerprint(q), CONDITIONAL_RUNS
        )
        results[f"deadlines_304_{size}"], results[f"deadlines_q_{size}"] = not_modified(deadlines)
        results[f"master_304_{size}"], results[f"master_q_{size}"] = not_modified(master)
    return results


def _child(database_url: str, awaiting: int, releases: int) -> None:
    harness.setup_django(database_url)
    print(json.dumps(_measure(awaiting, releases)))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def _report(r: dict) -> bool:
    n = r["awaiting"]
    print(f"\n== {r['label']} ==")
    print(f"  Releases awaiting sign-off           {10:>12} {n:>12,}")
    rows = [
        ("sign-off fingerprint, before", "old_fp"),
        ("sign-off fingerprint, now", "new_fp"),
        ("304, sign-off deadline feed", "deadlines_304"),
        ("304, master feed", "master_304"),
    ]
    for name, key in rows:
        print(f"  {name:36} {_ms(r[f'{key}_10']):>12} {_ms(r[f'{key}_{n}']):>12}")
    for name, key in (
        ("SQL, sign-off feed 304", "deadlines_q"),
        ("SQL, master feed 304", "master_q"),
    ):
        print(f"  {name:36} {r[f'{key}_10']:>12} {r[f'{key}_{n}']:>12}")
    print(f"\n  Master feed, {r['releases']:,} releases over two years, 10,000 bookings")
    print(f"  {'':36} {'limits':>12} {'no limits':>12}")
    print(f"  {'events':36} {r['limits_events']:>12,} {r['history_events']:>12,}")
    mb = (r["limits_bytes"] / 1e6, r["history_bytes"] / 1e6)
    print(f"  {'size':36} {mb[0]:>9.2f} MB {mb[1]:>9.2f} MB")
    print(f"  {'full render':36} {_ms(r['limits_s']):>12} {_ms(r['history_s']):>12}")
    print(f"  {'304':36} {_ms(r['limits_304_s']):>12} {_ms(r['history_304_s']):>12}")
    peaks = [r[f"{k}_peak"] / 1e6 for k in ("limits", "history")]
    print(f"  {'heap peak during a render':36} {peaks[0]:>9.1f} MB {peaks[1]:>9.1f} MB")
    per = [
        peak / max(r[f"{k}_events"], 1) * 1000
        for peak, k in zip(peaks, ("limits", "history"), strict=True)
    ]
    print(f"  {'heap peak per 1,000 events':36} {per[0]:>9.2f} MB {per[1]:>9.2f} MB")
    growth = r[f"new_fp_{n}"] / r["new_fp_10"]
    gain = r[f"old_fp_{n}"] / r[f"new_fp_{n}"]
    share = r["limits_events"] / r["history_events"]
    checks = [
        (f"fingerprint at {n:,} / at 10 <= 3", growth, growth <= 3),
        (f"old / new fingerprint at {n:,} >= 5", gain, gain >= 5),
        (
            "same SQL count for 10 and many",
            r[f"master_q_{n}"] - r["master_q_10"],
            r[f"master_q_{n}"] == r["master_q_10"] and r[f"deadlines_q_{n}"] == r["deadlines_q_10"],
        ),
        ("events with limits / without < 1/3", share, share < 1 / 3),
        ("heap peak per 1,000 events < 3 MB", per[0], per[0] < 3),
    ]
    ok = True
    for name, value, passed in checks:
        ok &= passed
        print(f"  {'ok  ' if passed else 'FAIL'} {name:40} {value:.3f}")
    return ok


def main() -> None:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--awaiting", type=int, default=3_336)
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.awaiting, args.releases)
        return
    results = []
    for backend in harness.backends(args.only):
        with harness.scratch_database(backend, harness.postgres_url(DEFAULT_POSTGRES)) as url:
            result = harness.run_child(
                __file__,
                "--child",
                url,
                "--awaiting",
                str(args.awaiting),
                "--releases",
                str(args.releases),
            )
        results.append({**result, "label": LABELS[backend]})
    ok = all([_report(result) for result in results])  # noqa: C419 (report every database)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
