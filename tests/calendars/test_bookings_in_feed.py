"""Environment bookings and maintenance windows in the feeds: content, SEQUENCE, cancellation,
the environment filter, the personal feed, ETag and query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from environments import services
from environments.models import Booking, Environment

from .conftest import HOST, events_by_uid, parse_strictly

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def planned_hours_are_not_ci_holds(settings):
    """The bookings here are planned one-hour slots; the CI-hold rule (bookings shorter than
    RELCAL_FEED_CI_HOLD_MINUTES leave the feeds) has its own tests in test_feed_history.py."""
    settings.RELCAL_FEED_CI_HOLD_MINUTES = 30


@pytest.fixture
def staging(search) -> Environment:
    return Environment.objects.create(
        name="staging", slug="staging", kind="staging", owner_team=search
    )


@pytest.fixture
def qa(db) -> Environment:
    return Environment.objects.create(name="qa", slug="qa", kind="test")


@pytest.fixture
def book(alice, payments, staging, soon):
    """``book(start_hours, end_hours, **fields)``: a booking of ``[soon + start, soon + end)``,
    made through the service as Alice for Payments unless told otherwise."""

    def make(start: float = 0, end: float = 1, **fields) -> Booking:
        fields.setdefault("actor", alice)
        fields.setdefault("team", payments)
        fields.setdefault("environment", staging)
        fields.setdefault("purpose", "Load test")
        return services.booking_create(start=soon + start * HOUR, end=soon + end * HOUR, **fields)

    return make


def uids(response) -> dict:
    assert response.status_code == 200
    return events_by_uid(parse_strictly(response.content))


def test_bookings_and_maintenance_join_the_feed(
    feed, make_token, manager, bob, search, staging, book, soon
):
    booking = book(0, 2, actor=bob, team=search)
    window = services.maintenance_window_create(
        actor=manager,
        environment=staging,
        start=soon + 3 * HOUR,
        end=soon + 4 * HOUR,
        reason="OS upgrade; reboot, then checks",
    )
    events = uids(feed(make_token(bob)))
    event = events[f"booking-{booking.pk}@{HOST}"]
    assert str(event["SUMMARY"]) == "staging — Search: Load test"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == soon and event.decoded("DTEND") == soon + 2 * HOUR
    assert event["SEQUENCE"] == 0
    assert str(event["URL"]) == "https://relcal.example.com/environments/staging/"
    assert "State: Confirmed" in str(event["DESCRIPTION"])
    maintenance = events[f"maintenance-{window.pk}@{HOST}"]
    assert str(maintenance["SUMMARY"]) == "staging — maintenance: OS upgrade; reboot, then checks"
    assert maintenance.decoded("DTSTART") == soon + 3 * HOUR


def test_a_bookings_sequence_rises_on_a_change_and_not_on_a_no_op(
    feed, make_token, alice, manager, staging, book, soon
):
    booking = book(0, 1)
    raw = make_token(alice)
    uid = f"booking-{booking.pk}@{HOST}"
    first = uids(feed(raw))[uid]
    services.booking_extend(actor=alice, booking=booking, end=soon + HOUR)  # the same end
    same = uids(feed(raw))[uid]
    assert same["SEQUENCE"] == 0 and same["DTSTAMP"].dt == first["DTSTAMP"].dt
    services.booking_extend(actor=alice, booking=booking, end=soon + 2 * HOUR)
    extended = uids(feed(raw))[uid]
    assert extended["SEQUENCE"] == 1
    assert extended.decoded("DTEND") == soon + 2 * HOUR
    services.booking_cancel(actor=alice, booking=booking)
    assert uids(feed(raw))[uid]["SEQUENCE"] == 2


def test_a_maintenance_windows_sequence_rises_on_a_change_and_not_on_a_no_op(
    feed, make_token, manager, staging, soon
):
    window = services.maintenance_window_create(
        actor=manager, environment=staging, start=soon, end=soon + HOUR, reason="Patching"
    )
    raw = make_token(manager)
    uid = f"maintenance-{window.pk}@{HOST}"
    stamp = uids(feed(raw))[uid]["DTSTAMP"].dt
    services.maintenance_window_update(actor=manager, window=window, reason="Patching")
    same = uids(feed(raw))[uid]
    assert same["SEQUENCE"] == 0 and same["DTSTAMP"].dt == stamp
    services.maintenance_window_update(actor=manager, window=window, end=soon + 2 * HOUR)
    changed = uids(feed(raw))[uid]
    assert changed["SEQUENCE"] == 1 and changed.decoded("DTEND") == soon + 2 * HOUR


def test_a_cancelled_booking_stays_two_days_as_cancelled_then_leaves(feed, make_token, alice, book):
    booking = book(0, 1)
    raw = make_token(alice)
    services.booking_cancel(actor=alice, booking=booking)
    uid = f"booking-{booking.pk}@{HOST}"
    response = feed(raw)
    event = uids(response)[uid]
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["SUMMARY"]).startswith("Cancelled: staging — Payments")
    # RELCAL_FEED_BOOKING_HOURS (48) after the cancellation (moved back rather than waiting).
    Booking.objects.filter(pk=booking.pk).update(ended_at=timezone.now() - timedelta(hours=49))
    later = feed(raw)
    assert uid not in uids(later)
    assert later["ETag"] != response["ETag"]


def test_the_environment_filter_keeps_that_environments_events_and_leaves_releases_alone(
    feed, make_token, alice, manager, make_release, staging, qa, book, soon
):
    on_staging = book(0, 1)
    on_qa = book(0, 1, environment=qa)
    qa_window = services.maintenance_window_create(
        actor=manager, environment=qa, start=soon + 2 * HOUR, end=soon + 3 * HOUR, reason="Wipe"
    )
    release = make_release()
    events = uids(feed(make_token(alice), environment="qa"))
    assert set(events) == {
        f"booking-{on_qa.pk}@{HOST}",
        f"maintenance-{qa_window.pk}@{HOST}",
        f"go-live-{release.pk}@{HOST}",
    }
    stored = uids(feed(make_token(alice, environments=["staging"]), kind="booking"))
    assert set(stored) == {f"booking-{on_staging.pk}@{HOST}"}


def test_the_personal_feed_holds_the_bookings_of_the_users_teams(
    feed, make_token, alice, bob, manager, search, staging, book, soon
):
    ours = book(0, 1)
    book(2, 3, actor=bob, team=search)
    services.maintenance_window_create(
        actor=manager, environment=staging, start=soon + 4 * HOUR, end=soon + 5 * HOUR, reason="X"
    )
    assert set(uids(feed(make_token(alice), mine="1"))) == {f"booking-{ours.pk}@{HOST}"}
    assert set(uids(feed(make_token(alice, mine=True)))) == {f"booking-{ours.pk}@{HOST}"}


def test_a_booking_change_changes_the_etag(feed, make_token, alice, book, soon):
    booking = book(0, 1)
    raw = make_token(alice)
    etag = feed(raw)["ETag"]
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 304
    services.booking_extend(actor=alice, booking=booking, end=soon + 3 * HOUR)
    changed = feed(raw, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    book(5, 6)
    assert feed(raw, headers={"If-None-Match": changed["ETag"]}).status_code == 200


def test_a_booking_names_a_private_release_only_to_those_who_may_see_it(
    feed, make_token, alice, outsider, payments, make_release, book
):
    payments.is_private = True
    payments.save()
    release = make_release(name="Secret checkout", version="9.9")
    booking = book(0, 1, release=release)
    uid = f"booking-{booking.pk}@{HOST}"
    assert "Secret checkout" in str(uids(feed(make_token(alice)))[uid]["DESCRIPTION"])
    theirs = uids(feed(make_token(outsider)))
    assert "Secret checkout" not in str(theirs[uid]["DESCRIPTION"])
    # A filter by the private release's id shows the outsider nothing of it.
    assert uids(feed(make_token(outsider), release=str(release.pk))) == {}


def test_the_public_feed_shows_no_environments(client, settings, manager, staging, book, soon):
    settings.RELCAL_PUBLIC_FEED = True
    book(0, 1)
    services.maintenance_window_create(
        actor=manager, environment=staging, start=soon + 2 * HOUR, end=soon + 3 * HOUR, reason="X"
    )
    assert client.get("/feeds/public.ics").content.count(b"BEGIN:VEVENT") == 0


def bulk_bookings(environment: Environment, team, count: int, start) -> None:
    Booking.objects.bulk_create(
        Booking(
            environment=environment,
            team=team,
            purpose=f"Run {n}",
            start=start + n * HOUR,
            end=start + (n + 1) * HOUR,
        )
        for n in range(count)
    )


def test_the_feed_runs_the_same_queries_for_10_and_many_bookings(
    feed,
    make_token,
    alice,
    manager,
    payments,
    search,
    staging,
    qa,
    soon,
    django_assert_num_queries,
):
    bulk_bookings(staging, payments, 10, soon)
    services.maintenance_window_create(
        actor=manager, environment=qa, start=soon, end=soon + HOUR, reason="Wipe"
    )
    raw = make_token(alice)
    feed(raw)  # the first request also records last_used_at
    # Counted at once: each request resets the connection's query log.
    with CaptureQueriesContext(connection) as captured:
        response = feed(raw)
        full = len(captured)
    assert response.content.count(b"BEGIN:VEVENT") == 11
    with CaptureQueriesContext(connection) as captured:
        assert feed(raw, headers={"If-None-Match": response["ETag"]}).status_code == 304
        not_modified = len(captured)
    bulk_bookings(qa, search, 400, soon + 2 * HOUR)
    with django_assert_num_queries(full):
        response = feed(raw)
    assert response.content.count(b"BEGIN:VEVENT") == 411
    with django_assert_num_queries(not_modified):
        assert feed(raw, headers={"If-None-Match": response["ETag"]}).status_code == 304


def test_the_calendar_page_shows_bookings_and_maintenance_in_their_own_style(
    client, alice, manager, staging, qa, book, soon
):
    book(0, 1)
    services.maintenance_window_create(
        actor=manager, environment=qa, start=soon + 2 * HOUR, end=soon + 3 * HOUR, reason="Wipe"
    )
    client.force_login(alice)
    page = client.get(reverse("calendar"), {"month": f"{timezone.localtime(soon):%Y-%m}"})
    html = page.content.decode()
    assert "cal-ev--booking" in html and "staging — Payments: Load test" in html
    assert "cal-ev--maintenance" in html and "qa — maintenance: Wipe" in html
    assert "cal-swatch--signoff_deadline" in html  # the legend names every kind
    only_qa = client.get(
        reverse("calendar-agenda"), {"start": f"{soon:%Y-%m-%d}", "environment": "qa"}
    )
    assert "Load test" not in only_qa.content.decode()
    assert 'name="environment" value="qa" checked' in only_qa.content.decode()
