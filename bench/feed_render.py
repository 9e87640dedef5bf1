"""Benchmark: the master calendar feed with 10,000 events (issue 5, "Performance").

Run from the project root:

    .venv/bin/python bench/feed_render.py                  # SQLite and PostgreSQL
    .venv/bin/python bench/feed_render.py --only sqlite    # or --only postgresql

Each database runs in a child process on a throwaway database (a temporary SQLite file; a
scratch PostgreSQL database ``relcal_feeds_bench`` on the server of ``BENCH_POSTGRES_URL``,
default ``postgres://postgres@127.0.0.1:5432/relcal_feeds_bench``, created and dropped again).
It bulk-inserts 4,000 releases (go-live events), 4,000 milestones (half all-day, half timed) and
2,000 freeze windows, then measures, for a superuser's feed token (so every row is visible):

1. Relcal's full render (the feed view, fingerprint and all) against django-ical serving the
   same events, built by the same queries, through its own view: Relcal must be faster;
2. against the floor, ``icalendar`` alone serializing the same events already built in memory
   as ``icalendar.Event`` components (``Calendar.to_ical()``): Relcal within 1.5x;
3. SQL queries per feed request, with 10 and with 10,000 events: the same count;
4. a 304 answer (matching If-None-Match) against a full render: under 5%; and, printed without
   a target, where its time goes (each calendar source's fingerprint, and the readiness gates')
   and the same 304 with the feed cache on (``calendars.freshness``; the process's memory cache).

It prints the medians and the ratios and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

import harness

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/relcal_feeds_bench"
RUNS = 5  # full renders per contender (median)
CONDITIONAL_RUNS = 30
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _fill(scale: int) -> None:
    """``10 * scale`` events: 4 releases, 4 milestones and 2 freezes per ``scale``."""
    from django.db import connection
    from django.utils import timezone

    from releases.models import FreezeWindow, Milestone, Release, Team

    for model in (Milestone, Release, FreezeWindow):
        model.objects.all().delete()
    team, _ = Team.objects.get_or_create(slug="payments", defaults={"name": "Payments"})
    base = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=30)
    Release.objects.bulk_create(
        (
            Release(
                team=team,
                name=f"Payments {n}.0",
                version=f"{n}.0",
                go_live=base + timedelta(hours=n),
                window_end=base + timedelta(hours=n, minutes=90),
                state=("draft", "planned", "testing", "released")[n % 4],
                description="Cards, wallets; the usual",
            )
            for n in range(4 * scale)
        ),
        batch_size=2_000,
    )
    Milestone.objects.bulk_create(
        (
            Milestone(
                release=release,
                kind="code_freeze",
                date=(release.go_live - timedelta(days=2)).date(),
            )
            if release.pk % 2
            else Milestone(
                release=release, kind="go_no_go", at=release.go_live - timedelta(hours=3)
            )
            for release in Release.objects.only("pk", "go_live")
        ),
        batch_size=2_000,
    )
    FreezeWindow.objects.bulk_create(
        (
            FreezeWindow(
                name=f"Freeze {n}, “quoted”; with a long reason",
                reason="Year end: the shop is busy.\nNo changes.",
                # Ahead, so that the feeds' 90-day horizon (RELCAL_FEED_PAST_DAYS) keeps them.
                start=base + timedelta(hours=n),
                end=base + timedelta(hours=n + 24),
                team=team if n % 2 else None,
            )
            for n in range(2 * scale)
        ),
        batch_size=2_000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _django_ical_view(query):
    """django-ical's ICalFeed over the same events (the same queries build them)."""
    from django.conf import settings
    from django_ical.views import ICalFeed

    from calendars import sources as calendar

    class Feed(ICalFeed):
        product_id = "-//Relcal//django-ical baseline//EN"
        title = "Relcal"
        timezone = "UTC"

        def items(self):
            return calendar.collect(query)

        def item_guid(self, event):
            return event.uid("relcal.example.com")

        def item_title(self, event):
            return event.summary

        def item_description(self, event):
            return event.description

        def item_link(self, event):
            return settings.SITE_URL + event.path

        def item_start_datetime(self, event):
            return event.start

        def item_end_datetime(self, event):
            return event.end

        def item_updateddate(self, event):
            return event.updated

        def item_timestamp(self, event):
            return event.updated

        def item_status(self, event):
            return event.status

        def item_categories(self, event):
            return list(event.categories)

    return Feed()


def _icalendar_floor(events) -> tuple:
    """The same events as icalendar components, built before the clock starts."""
    from django.conf import settings
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//Relcal//floor//EN")
    cal.add("version", "2.0")
    for item in events:
        event = Event()
        event.add("uid", item.uid("relcal.example.com"))
        event.add("dtstamp", item.updated)
        event.add("last-modified", item.updated)
        event.add("dtstart", item.start)
        event.add("dtend", item.end)
        event.add("summary", item.summary)
        event.add("sequence", item.sequence)
        event.add("status", item.status)
        event.add("transp", "TRANSPARENT")
        event.add("description", item.description)
        event.add("url", settings.SITE_URL + item.path)
        event.add("categories", list(item.categories))
        cal.add_component(event)
    return cal


def _measure() -> dict:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import RequestFactory, override_settings
    from django.test.utils import CaptureQueriesContext

    from calendars import feeds, tokens
    from calendars import sources as calendar
    from releases import calendar as rcalendar
    from releases import gates

    admin = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "x"
    )
    _, raw = tokens.feed_token_create(actor=admin, name="bench")
    factory = RequestFactory(HTTP_HOST="127.0.0.1")

    def relcal_feed(**headers):
        return feeds.feed(factory.get(f"/feeds/{raw}.ics", headers=headers), token=raw)

    results: dict = {}
    _fill(1)
    relcal_feed()  # records last_used_at, so that later requests only read
    with CaptureQueriesContext(connection) as small:
        small_body = relcal_feed().content
    results["queries_10"] = len(small)
    results["events_10"] = small_body.count(b"BEGIN:VEVENT")

    _fill(1_000)
    response = relcal_feed()
    results["events"] = response.content.count(b"BEGIN:VEVENT")
    results["bytes"] = len(response.content)
    with CaptureQueriesContext(connection) as large:
        relcal_feed()
    results["queries_10000"] = len(large)

    results["relcal_s"] = harness.median_seconds(relcal_feed, RUNS)
    etag = response["ETag"]
    assert relcal_feed(**{"If-None-Match": etag}).status_code == 304
    results["not_modified_s"] = harness.median_seconds(
        lambda: relcal_feed(**{"If-None-Match": etag}), CONDITIONAL_RUNS
    )
    # Where that 304's time goes: each calendar source's fingerprint, and within the releases'
    # the readiness gates' fingerprints (the go/no-go milestones of the releases deciding).
    query = feeds.feed_query(admin)
    results["print_ms"] = {
        source.__name__: harness.median_seconds(lambda s=source: s.fingerprint(query), 10) * 1000
        for source in calendar.sources()
    }
    deciding = rcalendar._milestones(query).filter(rcalendar.DECIDING).values("release_id")
    results["print_ms"]["releases.gates"] = (
        harness.median_seconds(lambda: gates.fingerprint(deciding), 10) * 1000
    )
    # The same 304 with the feed cache (CACHE_URL in production; the process's memory here,
    # which is right for one process): one cache read, no query (calendars.freshness).
    with override_settings(RELCAL_FEED_CACHE=True):
        assert relcal_feed(**{"If-None-Match": etag}).status_code == 304  # computes, keeps
        with CaptureQueriesContext(connection) as cached:
            relcal_feed(**{"If-None-Match": etag})
        results["cached_queries"] = len(cached)
        results["cached_304_s"] = harness.median_seconds(
            lambda: relcal_feed(**{"If-None-Match": etag}), CONDITIONAL_RUNS
        )

    query = calendar.FeedQuery(user=admin)
    view = _django_ical_view(query)
    request = factory.get("/django-ical.ics")
    results["django_ical_events"] = view(request).content.count(b"BEGIN:VEVENT")
    results["django_ical_s"] = harness.median_seconds(lambda: view(request), RUNS)

    cal = _icalendar_floor(calendar.collect(query))
    results["floor_events"] = cal.to_ical().count(b"BEGIN:VEVENT")
    results["floor_s"] = harness.median_seconds(cal.to_ical, RUNS)
    results["vendor"] = connection.vendor
    return results


def _child(database_url: str) -> None:
    harness.setup_django(database_url)
    print(json.dumps(_measure()))


def _report(r: dict) -> bool:
    ratio_ical = r["relcal_s"] / r["django_ical_s"]
    ratio_floor = r["relcal_s"] / r["floor_s"]
    ratio_304 = r["not_modified_s"] / r["relcal_s"]
    print(f"\n== {r['label']} ({r['events']} events, {r['bytes'] / 1e6:.1f} MB) ==")
    print(f"  Relcal full render            {r['relcal_s'] * 1000:9.1f} ms")
    print(f"  django-ical, same events      {r['django_ical_s'] * 1000:9.1f} ms")
    print(f"  icalendar to_ical only (floor){r['floor_s'] * 1000:9.1f} ms")
    print(f"  Relcal 304 (If-None-Match)    {r['not_modified_s'] * 1000:9.2f} ms")
    prints = ", ".join(f"{name} {ms:.1f} ms" for name, ms in r["print_ms"].items())
    print(f"    its fingerprints: {prints}")
    print(
        f"  Relcal 304, feed cache on     {r['cached_304_s'] * 1000:9.2f} ms "
        f"({r['cached_queries']} SQL queries; {r['cached_304_s'] / r['relcal_s']:.2%} of a render)"
    )
    print(
        f"  SQL queries per request       {r['queries_10']} for {r['events_10']} events, "
        f"{r['queries_10000']} for {r['events']}"
    )
    checks = [
        ("Relcal / django-ical < 1", ratio_ical, ratio_ical < 1),
        ("Relcal / floor <= 1.5", ratio_floor, ratio_floor <= 1.5),
        ("304 / full render < 5%", ratio_304, ratio_304 < 0.05),
        (
            "same queries for 10 and 10,000",
            r["queries_10000"] - r["queries_10"],
            r["queries_10"] == r["queries_10000"],
        ),
        (
            "every contender wrote every event",
            r["events"],
            # Whatever the sources hold (10,000 seeded rows and the sign-off deadlines of the
            # releases in testing): the three contenders write the same events.
            r["events"] == r["django_ical_events"] == r["floor_events"] > 10_000,
        ),
    ]
    ok = True
    for name, value, passed in checks:
        ok &= passed
        print(f"  {'ok  ' if passed else 'FAIL'} {name:36} {value:.3f}")
    return ok


def main() -> None:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    results = []
    for backend in harness.backends(args.only):
        with harness.scratch_database(backend, harness.postgres_url(DEFAULT_POSTGRES)) as url:
            result = harness.run_child(__file__, "--child", url)
        results.append({**result, "label": LABELS[backend]})
    ok = all([_report(result) for result in results])  # noqa: C419 (report every database)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
