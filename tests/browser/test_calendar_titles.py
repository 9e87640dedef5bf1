"""Issue 16: "the calendar shows one month at a time with titles cut to 12 characters". In a
real browser, a long title reads in full in the month grid and in the three-month view: it
wraps within its day cell, nothing of it is clipped, and the views link to each other."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from releases import services
from tests.conftest import PASSWORD

from .conftest import PHONE, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

LONG = "Payments settlement engine migration 4.3 — go-live"

# Whether an element's content fits its box: nothing scrolled away or clipped.
FITS = "el => el.scrollWidth <= el.clientWidth + 1 && el.scrollHeight <= el.clientHeight + 1"


def inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


@pytest.fixture
def long_release(manager, payments):
    go_live = timezone.make_aware(datetime(2030, 4, 16, 10, 0))
    return services.release_create(
        actor=manager,
        team=payments,
        name="Payments settlement engine migration",
        version="4.3",
        go_live=go_live,
    )


VIEWS = pytest.mark.parametrize(
    "url",
    ["/calendar/?month=2030-04", "/calendar/quarter/?month=2030-03"],
    ids=["month", "3 months"],
)
VIEWPORTS = pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])


@VIEWS
@VIEWPORTS
def test_a_long_title_reads_in_full(open_page, long_release, url, phone):
    page = open_page(PHONE) if phone else open_page()
    log_in(page, "manager", PASSWORD)
    page.goto(url)
    event = page.get_by_role("link", name=LONG)
    expect(event).to_be_visible()
    title = event.locator(".cal-ev__title")
    expect(title).to_have_text(LONG)
    assert title.evaluate(FITS), "the title is clipped"
    assert event.evaluate(FITS), "the event is clipped"
    assert inside(title.bounding_box(), event.bounding_box())
    cell = page.locator("td.cal-day").filter(has=event)
    assert inside(event.bounding_box(), cell.bounding_box())


def test_three_months_are_one_click_from_the_month(open_page, long_release):
    page = open_page()
    log_in(page, "manager", PASSWORD)
    page.goto("/calendar/?month=2030-02")
    page.get_by_role("link", name="3 months").click()
    page.wait_for_url("**/calendar/quarter/**")
    expect(page.get_by_role("heading", name="February – April 2030")).to_be_visible()
    expect(page.get_by_role("link", name=LONG)).to_be_visible()
    expect(page.get_by_role("columnheader", name="April 2030")).to_be_visible()


def test_the_three_month_view_passes_axe(open_page, long_release, axe):
    page = open_page()
    log_in(page, "manager", PASSWORD)
    page.goto("/calendar/quarter/?month=2030-03")
    axe.check(page)
