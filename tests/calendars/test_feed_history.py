"""How far back feeds reach (issue 16): the past horizon for shipped releases, their milestones,
freezes and maintenance; ended and cancelled bookings leaving after a short grace; short CI
holds left out unless asked for; the description that says so; and a 304 whose query count
stays put however many releases await sign-off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.http import parse_http_date

from approvals.models import ReleaseRequirement, SignOff
from calendars.filters import clean_filters
from environments import services as environments
from environments.models import Booking, BookingState, Environment, MaintenanceWindow
from releases import services
from releases.models import FreezeWindow, Milestone, Release, ScopeItem, Team
from tests.approvals.conftest import walk

from .conftest import HOST, events_by_uid, parse_strictly

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def uids(response) -> set[str]:
    assert response.status_code == 200
    return set(events_by_uid(parse_strictly(response.content)))


@pytest.fixture
def shipped(make_release, manager):
    """``shipped(days_ago, state="released")``: a release that went live ``days_ago`` days ago
    (moved back in time rather than waited for), with a code-freeze milestone before it."""

    def make(days_ago: float, state: str = "released") -> Release:
        release = make_release()
        milestone = services.milestone_create(
            actor=manager, release=release, kind="code_freeze", date=release.go_live.date()
        )
        go_live = timezone.now() - days_ago * DAY
        Release.objects.filter(pk=release.pk).update(
            state=state, go_live=go_live, window_end=go_live + HOUR
        )
        Milestone.objects.filter(pk=milestone.pk).update(date=(go_live - 2 * DAY).date())
        release.refresh_from_db()
        release.milestone_uid = f"milestone-{milestone.pk}@{HOST}"
        return release

    return make


def freeze(days_ago: float) -> FreezeWindow:
    end = timezone.now() - days_ago * DAY
    return FreezeWindow.objects.create(name="Year end", start=end - 3 * DAY, end=end)


# --- The past horizon -------------------------------------------------------------------------


def test_a_release_shipped_before_the_horizon_leaves_with_its_milestones(
    feed, make_token, manager, shipped
):
    old, recent = shipped(91), shipped(89)
    events = uids(feed(make_token(manager)))
    assert f"go-live-{old.pk}@{HOST}" not in events
    assert old.milestone_uid not in events
    assert {f"go-live-{recent.pk}@{HOST}", recent.milestone_uid} <= events


def test_a_rolled_back_release_counts_as_shipped(feed, make_token, manager, shipped):
    old = shipped(91, state="rolled_back")
    assert f"go-live-{old.pk}@{HOST}" not in uids(feed(make_token(manager)))


def test_a_release_never_shipped_stays_however_old(feed, make_token, manager, shipped):
    late = shipped(200, state="planned")
    assert f"go-live-{late.pk}@{HOST}" in uids(feed(make_token(manager)))


def test_a_freeze_ended_before_the_horizon_leaves(feed, make_token, manager):
    old, recent = freeze(91), freeze(89)
    events = uids(feed(make_token(manager)))
    assert f"freeze-{old.pk}@{HOST}" not in events
    assert f"freeze-{recent.pk}@{HOST}" in events


def test_maintenance_ended_before_the_horizon_leaves(feed, make_token, manager):
    qa = Environment.objects.create(name="qa", slug="qa", kind="test")
    end = timezone.now() - 91 * DAY
    window = MaintenanceWindow.objects.create(
        environment=qa, start=end - HOUR, end=end, reason="Wipe"
    )
    assert f"maintenance-{window.pk}@{HOST}" not in uids(feed(make_token(manager)))


def test_the_horizon_follows_the_setting(feed, make_token, manager, shipped, settings):
    old = shipped(120)
    raw = make_token(manager)
    assert f"go-live-{old.pk}@{HOST}" not in uids(feed(raw))
    settings.RELCAL_FEED_PAST_DAYS = 365
    assert f"go-live-{old.pk}@{HOST}" in uids(feed(raw))


def test_a_release_passing_the_horizon_changes_etag_and_last_modified(
    feed, make_token, manager, payments, shipped
):
    release = shipped(80)
    # Nothing has changed for weeks: the feed's Last-Modified is weeks old.
    weeks_ago = timezone.now() - 60 * DAY
    Release.objects.filter(pk=release.pk).update(updated_at=weeks_ago)
    Milestone.objects.filter(release=release).update(updated_at=weeks_ago)
    Team.objects.filter(pk=payments.pk).update(updated_at=weeks_ago)
    raw = make_token(manager)
    before = feed(raw)
    # Time passes (moved back rather than waited for): it went live just over 90 days ago.
    go_live = timezone.now() - 90 * DAY - 2 * HOUR
    Release.objects.filter(pk=release.pk).update(go_live=go_live, window_end=go_live + HOUR)
    after = feed(raw, headers={"If-None-Match": before["ETag"]})
    assert after.status_code == 200
    assert f"go-live-{release.pk}@{HOST}" not in uids(after)
    # It left the feed an hour ago: a client revalidating by date alone gets the new feed too.
    assert parse_http_date(after["Last-Modified"]) > parse_http_date(before["Last-Modified"])
    assert feed(raw, headers={"If-Modified-Since": before["Last-Modified"]}).status_code == 200


def test_the_calendar_page_has_no_horizon(client, manager, shipped):
    old = shipped(120)
    client.force_login(manager)
    page = client.get(reverse("calendar"), {"month": f"{timezone.localtime(old.go_live):%Y-%m}"})
    assert old.name in page.content.decode()


# --- Bookings ---------------------------------------------------------------------------------


@pytest.fixture
def staging(db) -> Environment:
    return Environment.objects.create(name="staging", slug="staging", kind="staging")


def past_booking(environment, team, *, ended_hours_ago: float, hours: float = 3, state=None):
    end = timezone.now() - ended_hours_ago * HOUR
    return Booking.objects.create(
        environment=environment,
        team=team,
        purpose="Load test",
        start=end - hours * HOUR,
        end=end,
        state=state or BookingState.EXPIRED,
        ended_at=end,
    )


def test_an_ended_booking_stays_for_the_grace_then_leaves(
    feed, make_token, alice, payments, staging
):
    kept = past_booking(staging, payments, ended_hours_ago=47)
    gone = past_booking(staging, payments, ended_hours_ago=49)
    events = uids(feed(make_token(alice)))
    assert f"booking-{kept.pk}@{HOST}" in events
    assert f"booking-{gone.pk}@{HOST}" not in events


def test_the_booking_grace_follows_the_setting(
    feed, make_token, alice, payments, staging, settings
):
    booking = past_booking(staging, payments, ended_hours_ago=5)
    raw = make_token(alice)
    assert f"booking-{booking.pk}@{HOST}" in uids(feed(raw))
    settings.RELCAL_FEED_BOOKING_HOURS = 4
    assert f"booking-{booking.pk}@{HOST}" not in uids(feed(raw))


def test_a_cancelled_booking_leaving_changes_the_etag(feed, make_token, alice, payments, staging):
    booking = past_booking(staging, payments, ended_hours_ago=40, state=BookingState.CANCELLED)
    raw = make_token(alice)
    first = feed(raw)
    assert f"booking-{booking.pk}@{HOST}" in uids(first)
    Booking.objects.filter(pk=booking.pk).update(ended_at=timezone.now() - 49 * HOUR)
    assert feed(raw, headers={"If-None-Match": first["ETag"]}).status_code == 200


# --- CI holds ---------------------------------------------------------------------------------


@pytest.fixture
def hold(alice, payments, staging):
    """A CI run's hold through the acquire service: now, for 20 minutes."""
    return environments.booking_acquire(
        actor=alice, environment=staging, team=payments, minutes=20, purpose="CI #123"
    )


@pytest.fixture
def planned(alice, payments, staging, soon):
    return environments.booking_create(
        actor=alice,
        environment=staging,
        team=payments,
        start=soon,
        end=soon + 3 * HOUR,
        purpose="Load test",
    )


def test_a_short_ci_hold_is_left_out_of_feeds(feed, make_token, alice, hold, planned):
    events = uids(feed(make_token(alice)))
    assert f"booking-{hold.pk}@{HOST}" not in events
    assert f"booking-{planned.pk}@{HOST}" in events


def test_a_persons_short_booking_is_no_ci_hold(feed, make_token, alice, payments, staging, soon):
    """Only what a pipeline acquired counts as a CI hold: a 30-minute booking made on the page
    or through POST /api/v1/bookings/ stays in the feed."""
    short = environments.booking_create(
        actor=alice,
        environment=staging,
        team=payments,
        start=soon,
        end=soon + timedelta(minutes=30),
        purpose="Demo to the customer",
    )
    assert f"booking-{short.pk}@{HOST}" in uids(feed(make_token(alice)))


def test_a_feed_asks_for_ci_holds_by_parameter(feed, make_token, alice, hold):
    assert f"booking-{hold.pk}@{HOST}" in uids(feed(make_token(alice), ci_holds="1"))


def test_a_token_asks_for_ci_holds_by_its_filters(feed, make_token, alice, hold):
    assert f"booking-{hold.pk}@{HOST}" in uids(feed(make_token(alice, ci_holds=True)))


def test_a_bad_ci_holds_filter_is_refused_by_name():
    with pytest.raises(ValidationError) as raised:
        clean_filters({"ci_holds": "yes"})
    assert "ci_holds" in raised.value.message_dict


def test_ci_hold_churn_leaves_the_etag_alone(feed, make_token, alice, payments, staging, planned):
    raw = make_token(alice)
    etag = feed(raw)["ETag"]
    held = environments.booking_acquire(
        actor=alice, environment=staging, team=payments, minutes=20, purpose="CI #124"
    )
    environments.booking_release(actor=alice, booking=held)
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 304


def test_no_ci_hold_rule_when_the_setting_is_zero(feed, make_token, alice, hold, settings):
    settings.RELCAL_FEED_CI_HOLD_MINUTES = 0
    assert f"booking-{hold.pk}@{HOST}" in uids(feed(make_token(alice)))


# --- The description --------------------------------------------------------------------------


def test_the_feed_says_what_it_leaves_out(feed, make_token, manager):
    calendar = parse_strictly(feed(make_token(manager)).content)
    description = str(calendar["X-WR-CALDESC"])
    assert str(calendar["DESCRIPTION"]) == description
    assert description == (
        "Release schedule from Relcal. Past events older than 90 days are left out: releases "
        "shipped before then (with their milestones) and freezes and maintenance that ended "
        "before then. Bookings leave 48 hours after they end or are cancelled. CI holds (bookings "
        "a pipeline acquired for less than 120 minutes) are left out unless the feed asks for them "
        "with ci_holds=1."
    )


def test_the_description_and_etag_follow_the_settings(feed, make_token, manager, settings):
    raw = make_token(manager)
    etag = feed(raw)["ETag"]
    settings.RELCAL_FEED_PAST_DAYS = 30
    response = feed(raw, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "older than 30 days" in str(parse_strictly(response.content)["X-WR-CALDESC"])


# --- A cheap 304, however many releases await sign-off ----------------------------------------


def awaiting(make_release, manager, alice, count: int) -> list[Release]:
    """``count`` releases with scope, a go/no-go and requirements, frozen for sign-off."""
    releases = []
    for _ in range(count):
        release = make_release()
        services.scope_item_create(
            actor=manager, release=release, title="Saved cards", ticket_key="PAY-1", owner=alice
        )
        services.milestone_create(
            actor=manager, release=release, kind="go_no_go", at=release.go_live - 3 * HOUR
        )
        releases.append(walk(release, manager, "planned", "scope_frozen"))
    return releases


def not_modified_queries(feed, raw) -> int:
    etag = feed(raw)["ETag"]
    with CaptureQueriesContext(connection) as captured:
        assert feed(raw, headers={"If-None-Match": etag}).status_code == 304
    return len(captured)


def test_a_304_runs_the_same_queries_for_2_and_40_releases_awaiting_sign_off(
    feed, make_token, manager, alice, make_release
):
    awaiting(make_release, manager, alice, 2)
    raw = make_token(manager, kinds=["signoff_deadline"])
    feed(raw)  # the first request also records last_used_at
    few = not_modified_queries(feed, raw)
    awaiting(make_release, manager, alice, 38)
    assert ReleaseRequirement.objects.count() >= 40
    assert not_modified_queries(feed, raw) == few
    # Pinned: the token, the reader's permissions (two), the releases awaiting sign-off, and
    # one aggregate each over their sign-offs, scope, milestones, dependencies, requirements
    # and builds.
    assert few == 10


def test_the_sign_off_fingerprint_still_sees_a_change_to_one_release_of_many(
    feed, make_token, manager, alice, make_release
):
    releases = awaiting(make_release, manager, alice, 5)
    raw = make_token(manager, kinds=["signoff_deadline"])
    etag = feed(raw)["ETag"]
    ScopeItem.objects.filter(release=releases[2]).delete()
    changed = feed(raw, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert SignOff.objects.count() == 0
