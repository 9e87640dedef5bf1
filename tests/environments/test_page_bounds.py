"""Issue 16, items 1 and 5: "my team's bookings" and the timeline cost the same however many
bookings there are: a page of bookings at a time, and at most a few blocks per lane and day on
the timeline, the rest behind "+N more", which opens the day."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments import timeline
from environments.forms import RELEASES_SHOWN
from environments.models import Booking, BookingState, Environment
from environments.views.bookings import MY_BOOKINGS_PAGE
from releases.models import Release

pytestmark = pytest.mark.django_db

MINUTES = timedelta(minutes=1)


def day_at_nine() -> datetime:
    tomorrow = timezone.localdate() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(tomorrow, datetime.min.time())) + 9 * 60 * MINUTES


def bulk_bookings(count: int, environment: Environment, team, user, start: datetime, every=10):
    """``count`` back-to-back bookings of ``every`` minutes (a pipeline's holds), in bulk."""
    first = Booking.objects.filter(environment=environment).count()
    Booking.objects.bulk_create(
        Booking(
            environment=environment,
            team=team,
            booked_by=user,
            purpose=f"pipeline {n}",
            start=start + n * every * MINUTES,
            end=start + (n + 1) * every * MINUTES,
            state=BookingState.CONFIRMED,
        )
        for n in range(first, first + count)
    )


def bulk_releases(count: int, team, soon) -> list[Release]:
    first = Release.objects.count()
    return Release.objects.bulk_create(
        Release(name=f"Bulk {n}", version=f"bulk-{n}", team=team, go_live=soon + n * MINUTES)
        for n in range(first, first + count)
    )


def test_my_bookings_shows_a_page_at_a_time(client, manager, payments, staging):
    bulk_bookings(MY_BOOKINGS_PAGE + 5, staging, payments, manager, day_at_nine())
    client.force_login(manager)
    first = client.get("/environments/bookings/").content.decode()
    second = client.get("/environments/bookings/", {"page": 2}).content.decode()
    assert first.count('class="card booking ') == MY_BOOKINGS_PAGE
    assert second.count('class="card booking ') == 5
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert f"{MY_BOOKINGS_PAGE + 5} bookings" in first


def test_my_bookings_runs_the_same_queries_for_3_and_60_bookings(
    client, manager, payments, staging
):
    client.force_login(manager)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/environments/bookings/").status_code == 200
        return len(ctx.captured_queries)

    bulk_bookings(3, staging, payments, manager, day_at_nine())
    few = queries()
    bulk_bookings(57, staging, payments, manager, day_at_nine())
    assert queries() == few


def test_the_timeline_folds_a_busy_lane_day_into_more(client, alice, payments, staging):
    bulk_bookings(30, staging, payments, alice, day_at_nine())
    client.force_login(alice)
    page = client.get("/environments/").content.decode()
    shown = timeline.LANE_DAY_SHOWN_DEFAULT
    assert page.count("slot slot--booking") == shown - 1
    assert f"+{30 - shown + 1} more" in page
    day = timezone.localdate() + timedelta(days=1)
    assert f'href="?from={day:%Y-%m-%d}&amp;days=1"' in page


def test_the_day_it_opens_shows_more_of_that_day(client, alice, payments, staging):
    bulk_bookings(30, staging, payments, alice, day_at_nine())
    client.force_login(alice)
    day = timezone.localdate() + timedelta(days=1)
    page = client.get("/environments/", {"from": day.isoformat(), "days": 1}).content.decode()
    shown = timeline.LANE_DAY_SHOWN[timeline.DAY_SPAN]
    assert page.count("slot slot--booking") == shown - 1
    assert f"+{30 - shown + 1} more" in page
    assert 'href="/environments/staging/#bookings"' in page


def test_the_timeline_runs_the_same_queries_and_size_for_10_and_200_bookings(
    client, alice, payments, staging
):
    client.force_login(alice)

    def measure() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/environments/")
        return len(ctx.captured_queries), len(response.content)

    bulk_bookings(10, staging, payments, alice, day_at_nine())
    few, few_bytes = measure()
    bulk_bookings(190, staging, payments, alice, day_at_nine())
    many, many_bytes = measure()
    assert few == many
    # Ten bookings fill two days past their bound already; 190 more add a few more days' worth.
    assert many_bytes < few_bytes * 3


def release_options(page: str) -> list[str]:
    select = page[
        page.index('name="release"') : page.index("</select>", page.index('name="release"'))
    ]
    return re.findall(r'<option value="(\d+)"', select)


def test_the_booking_form_lists_the_soonest_releases_only(client, alice, payments, soon):
    bulk_releases(RELEASES_SHOWN + 10, payments, soon)
    client.force_login(alice)
    page = client.get("/environments/book/").content.decode()
    assert len(release_options(page)) == RELEASES_SHOWN


def test_the_booking_form_keeps_a_release_chosen_by_a_link(client, alice, payments, soon):
    *_, far = bulk_releases(RELEASES_SHOWN + 10, payments, soon)
    client.force_login(alice)
    page = client.get("/environments/book/", {"release": far.pk}).content.decode()
    assert str(far.pk) in release_options(page)
    assert re.search(rf'<option value="{far.pk}" selected>', page)


def test_the_booking_form_accepts_a_release_it_did_not_list(client, alice, payments, staging, soon):
    *_, far = bulk_releases(RELEASES_SHOWN + 10, payments, soon)
    client.force_login(alice)
    start = timezone.localtime(soon + timedelta(days=1))
    response = client.post(
        "/environments/book/",
        {
            "environment": staging.slug,
            "team": payments.pk,
            "release": far.pk,
            "purpose": "QA run",
            "start": start.strftime("%Y-%m-%dT%H:%M"),
            "end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Booking.objects.get(purpose="QA run").release == far
