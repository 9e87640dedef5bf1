"""Issue 16, "adjacent bookings hide each other on the timeline": in a real browser, every bar
on a crowded lane stays readable at every span of the timeline. Bars never overlap (touching
ones are stacked in rows), a bar's text never leaves it, and the whole text is in the bar's
tooltip and accessible name; a waitlist entry shows the window it wants."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from environments import services
from environments.models import Environment
from tests.conftest import PASSWORD

from .conftest import log_in

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; restore the roles migration's groups afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Half a pixel of rounding either way.
SLACK = 0.5


def at(day, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


@pytest.fixture
def crowded_day(alice, bob, payments, search):
    """Staging's busy day next week: Search 14:00–16:30 and Payments 16:30–18:30 back to back,
    a 15-minute Payments hold at 10:00, and Payments waiting for 15:00–17:00."""
    staging = Environment.objects.create(name="staging", slug="staging", kind="staging")
    day = timezone.localdate() + timedelta(days=8)
    book = services.booking_create
    book(actor=bob, environment=staging, team=search, purpose="Search 2.1 load test",
         start=at(day, 14), end=at(day, 16, 30))  # fmt: skip
    book(actor=alice, environment=staging, team=payments, purpose="Payments 4.3 regression",
         start=at(day, 16, 30), end=at(day, 18, 30))  # fmt: skip
    book(actor=alice, environment=staging, team=payments, purpose="Smoke check",
         start=at(day, 10), end=at(day, 10, 15))  # fmt: skip
    services.waitlist_join(actor=alice, environment=staging, team=payments,
                           purpose="Payments hotfix rehearsal", start=at(day, 15),
                           end=at(day, 17))  # fmt: skip
    return day


# The bars the crowded day shows: tooltip (title) and accessible name, in full.
BARS = [
    ("Search: Search 2.1 load test, {day:%a %-d %b}, 14:00–16:30",
     "Search: Search 2.1 load test, 14:00–16:30, {day:%a %-d %b}, staging"),
    ("Payments: Payments 4.3 regression, {day:%a %-d %b}, 16:30–18:30",
     "Payments: Payments 4.3 regression, 16:30–18:30, {day:%a %-d %b}, staging"),
    ("Payments: Smoke check, {day:%a %-d %b}, 10:00–10:15",
     "Payments: Smoke check, 10:00–10:15, {day:%a %-d %b}, staging"),
    ("Payments waiting: Payments hotfix rehearsal, {day:%a %-d %b}, 15:00–17:00",
     "Payments waiting: Payments hotfix rehearsal, 15:00–17:00, {day:%a %-d %b}, staging"),
]  # fmt: skip


def open_timeline(open_page, day, days: int):
    page = open_page()
    log_in(page, "alice", PASSWORD)
    first = day if days == 1 else day - timedelta(days=1)
    page.goto(f"/environments/?from={first:%Y-%m-%d}&days={days}")
    return page


def overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] + a["width"] > b["x"] + SLACK
        and b["x"] + b["width"] > a["x"] + SLACK
        and a["y"] + a["height"] > b["y"] + SLACK
        and b["y"] + b["height"] > a["y"] + SLACK
    )


def inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"] - SLACK
        and inner["y"] >= outer["y"] - SLACK
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + SLACK
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + SLACK
    )


SPANS = pytest.mark.parametrize("days", [1, 7, 14], ids=["one day", "one week", "two weeks"])


@SPANS
def test_no_two_bars_overlap(open_page, crowded_day, days):
    page = open_timeline(open_page, crowded_day, days)
    bars = page.locator(".lanes .slot")
    expect(bars).to_have_count(4)
    boxes = [bars.nth(n).bounding_box() for n in range(4)]
    clashes = [(a, b) for a in range(4) for b in range(a + 1, 4) if overlap(boxes[a], boxes[b])]
    assert not clashes, boxes


@SPANS
def test_each_label_stays_within_its_bar(open_page, crowded_day, days):
    page = open_timeline(open_page, crowded_day, days)
    bars = page.locator(".lanes .slot")
    expect(bars).to_have_count(4)
    for n in range(4):
        bar = bars.nth(n)
        label = bar.locator(".slot__text")
        assert inside(label.bounding_box(), bar.bounding_box()), bar.get_attribute("title")
        lines = label.locator(":scope > span")
        for line in range(lines.count()):
            assert inside(lines.nth(line).bounding_box(), bar.bounding_box())


@SPANS
@pytest.mark.parametrize("title, name", BARS, ids=["search", "payments", "short", "waitlist"])
def test_each_bar_carries_its_full_text(open_page, crowded_day, days, title, name):
    page = open_timeline(open_page, crowded_day, days)
    bar = page.get_by_role("link", name=name.format(day=crowded_day), exact=True)
    expect(bar).to_have_count(1)
    expect(bar).to_have_attribute("title", title.format(day=crowded_day))


def test_the_waitlist_entry_shows_the_window_it_wants(open_page, crowded_day):
    page = open_timeline(open_page, crowded_day, 1)
    waiting = page.locator(".lanes .slot--waitlist")
    expect(waiting).to_be_visible()
    expect(waiting).to_contain_text("waiting")
    held = page.locator(".lanes .slot--booking").filter(has_text="Search 2.1 load test")
    wanted, search = waiting.bounding_box(), held.bounding_box()
    # 15:00–17:00 starts within Search's 14:00–16:30, in a row of its own.
    assert search["x"] < wanted["x"] < search["x"] + search["width"]
    assert wanted["y"] >= search["y"] + search["height"]


@SPANS
def test_the_crowded_timeline_passes_axe(open_page, crowded_day, days, axe):
    # label-content-name-mismatch included: each bar's name holds its visible text.
    axe.check(open_timeline(open_page, crowded_day, days))
