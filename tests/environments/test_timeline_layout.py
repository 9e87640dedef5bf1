"""Issue 16, "adjacent bookings hide each other on the timeline": bars that touch or overlap are
stacked in rows of their lane, each bar is named by its visible text (then the day and the
environment), and waiting waitlist entries are on the timeline too, with the window they want.
The browser checks of the same are in tests/browser/test_timeline_density.py."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments import services, timeline
from environments.models import WaitlistEntry, WaitlistState
from releases import roles
from releases.models import Team
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


@pytest.fixture
def day(soon) -> date:
    return timezone.localdate(soon)


@pytest.fixture
def slot(alice, payments, staging, day):
    """``slot(start, end, **fields)``: a booking of staging on ``day``, (hour, minute) pairs."""

    def make(start: tuple, end: tuple, **fields):
        fields.setdefault("actor", alice)
        fields.setdefault("team", payments)
        fields.setdefault("purpose", "QA run")
        return services.booking_create(
            environment=staging, start=at(day, *start), end=at(day, *end), **fields
        )

    return make


@pytest.fixture
def waiting(alice, payments, staging, day):
    """``waiting(start, end, **fields)``: a waitlist entry for staging on ``day``."""

    def make(start: tuple, end: tuple, **fields):
        fields.setdefault("actor", alice)
        fields.setdefault("team", payments)
        fields.setdefault("purpose", "Hotfix rehearsal")
        return services.waitlist_join(
            environment=staging, start=at(day, *start), end=at(day, *end), **fields
        )

    return make


def lane(day: date, days: int = 7, user=None) -> timeline.Lane:
    built = timeline.build(day, days, user=user)
    [staging] = [lane for lane in built.lanes if lane.environment.slug == "staging"]
    return staging


def rows(day: date, days: int = 7) -> dict[str, int]:
    return {block.title: block.row for block in lane(day, days).blocks}


def page(client, user, day: date, days: int = 7) -> str:
    client.force_login(user)
    response = client.get("/environments/", {"from": day.isoformat(), "days": days})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("days", [1, 7, 14], ids=["one day", "one week", "two weeks"])
def test_adjacent_bookings_are_drawn_in_different_rows(slot, bob, search, day, days):
    slot((14, 0), (16, 30), actor=bob, team=search, purpose="Load test")
    slot((16, 30), (18, 30), purpose="Regression")
    assert rows(day, days) == {"Load test": 0, "Regression": 1}
    assert lane(day, days).rows == 2


def test_bookings_on_different_days_share_a_row(slot, alice, payments, staging, day):
    slot((9, 0), (11, 0), purpose="Monday run")
    services.booking_create(
        actor=alice, environment=staging, team=payments, purpose="Next day run",
        start=at(day + timedelta(days=1), 9), end=at(day + timedelta(days=1), 11),
    )  # fmt: skip
    assert rows(day) == {"Monday run": 0, "Next day run": 0}
    assert lane(day).rows == 1


def test_a_short_booking_keeps_room_for_its_bar(slot, day):
    # A quarter of an hour is a sliver of a week: its bar is drawn wider, and the booking
    # after it must not be drawn under it.
    slot((10, 0), (10, 15), purpose="Smoke check")
    slot((10, 30), (11, 30), purpose="Regression")
    assert rows(day) == {"Smoke check": 0, "Regression": 1}


def test_the_page_gives_each_lane_its_rows_and_each_bar_its_row(client, alice, slot, day):
    slot((14, 0), (16, 30), purpose="Load test")
    slot((16, 30), (18, 30), purpose="Regression")
    text = page(client, alice, day)
    assert "--rows: 2" in text
    assert "--row: 1" in text
    assert f"--track-min: {timeline.track_min_px(7)}px" in text


def test_a_bar_is_named_by_its_visible_text_then_the_day_and_environment(client, alice, slot, day):
    slot((14, 0), (16, 30), purpose="Load test")
    text = page(client, alice, day)
    assert f'<span class="sr-only">Payments: Load test, 14:00–16:30, {day:%a %-d %b}, staging' in (
        text
    )
    assert f'title="Payments: Load test, {day:%a %-d %b}, 14:00–16:30"' in text
    [bar] = re.findall(r'<a class="slot slot--booking[^>]*>', text)
    assert "aria-label" not in bar  # the name is the text, so it cannot disagree with it


def test_a_waiting_entry_shows_on_the_timeline_with_the_window_it_wants(
    client, alice, bob, search, slot, waiting, day
):
    slot((14, 0), (16, 30), actor=bob, team=search, purpose="Load test")
    waiting((15, 0), (17, 0))
    text = page(client, alice, day)
    assert text.count('class="slot slot--waitlist') == 1
    assert f'title="Payments waiting: Hotfix rehearsal, {day:%a %-d %b}, 15:00–17:00"' in text
    assert "agenda__item agenda__item--waitlist" in text  # the phone agenda lists it too
    assert "Waiting for the slot (waitlist)" in text  # and the legend explains the look


@pytest.mark.parametrize("state", [WaitlistState.WITHDRAWN, WaitlistState.GRANTED])
def test_an_entry_no_longer_waiting_is_not_on_the_timeline(
    client, alice, bob, search, slot, waiting, day, state
):
    slot((14, 0), (16, 30), actor=bob, team=search, purpose="Load test")
    entry = waiting((15, 0), (17, 0))
    WaitlistEntry.objects.filter(pk=entry.pk).update(state=state)
    assert "slot--waitlist" not in page(client, alice, day)


def test_a_private_team_s_waiting_entry_shows_the_slot_but_not_who_or_why(
    client, bob, search, slot, waiting, day
):
    mobile = Team.objects.create(name="Mobile", slug="mobile", color="#1971c2", is_private=True)
    mia = User.objects.create_user("mia", "mia@example.com", PASSWORD)
    mia.groups.add(Group.objects.get(name=roles.TEAM_MEMBERS))
    mobile.members.add(mia)
    slot((14, 0), (16, 30), actor=bob, team=search, purpose="Load test")
    waiting((15, 0), (17, 0), actor=mia, team=mobile, purpose="Secret launch")
    text = page(client, bob, day)
    assert "A private team waiting: Booked" in text
    assert "Secret launch" not in text and "Mobile" not in text


def test_the_timeline_runs_the_same_queries_for_1_and_12_waiting_entries(
    client, alice, bob, payments, search, staging, day
):
    client.force_login(alice)
    url = f"/environments/?from={day.isoformat()}"

    def add(hours) -> None:
        for hour in hours:
            start = at(day, hour)
            services.booking_create(
                actor=bob, environment=staging, team=search, purpose="Load test",
                start=start, end=start + timedelta(minutes=30),
            )  # fmt: skip
            services.waitlist_join(
                actor=alice, environment=staging, team=payments,
                purpose="Hotfix", start=start, end=start + timedelta(minutes=30),
            )  # fmt: skip

    add([8])
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add(range(9, 20))
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)
