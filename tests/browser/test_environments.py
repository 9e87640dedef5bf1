"""Alice's journey in a real browser: she sees Search's booking of staging on the timeline, asks
for the same slot, is told who holds it, and books the suggested slot instead."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from environments import services
from environments.models import Booking, Environment
from tests.conftest import PASSWORD

from .conftest import PHONE, log_in

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; restore the roles migration's groups afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def at(day, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def test_alice_sees_search_s_booking_and_books_the_suggested_slot(
    open_page, alice, bob, payments, search
):
    staging = Environment.objects.create(
        name="staging", slug="staging", kind="staging", owner_team=search
    )
    Environment.objects.create(name="qa", slug="qa", kind="test")
    today = timezone.localdate()
    tuesday = today + timedelta(days=(1 - today.weekday()) % 7 or 7)
    services.booking_create(
        actor=bob,
        environment=staging,
        team=search,
        purpose="Load test",
        start=at(tuesday, 14),
        end=at(tuesday, 16, 30),
    )

    page = open_page()
    log_in(page, "alice", PASSWORD)
    page.get_by_role("link", name="Environments", exact=True).click()
    expect(page.get_by_role("heading", name="Environments", level=1)).to_be_visible()
    if (tuesday - today).days > 6:  # today is a Tuesday: the booking is in next week's view
        page.get_by_role("link", name="Later").click()
    held = page.get_by_role(
        "link", name=f"Search: Load test, 14:00–16:30, {tuesday:%a %-d %b}, staging", exact=True
    )
    expect(held).to_be_visible()
    expect(held).to_contain_text("14:00–16:30")

    page.get_by_role("link", name="Book an environment").click()
    page.get_by_label("Environment").select_option(label="staging")
    expect(page.get_by_label("Team")).to_have_value(str(payments.pk))
    page.get_by_label("Purpose").fill("Payments 4.3 regression tests")
    page.get_by_label("Start").fill(f"{tuesday}T14:00")
    page.get_by_label("End").fill(f"{tuesday}T16:00")
    page.get_by_role("button", name="Book", exact=True).click()

    conflict = page.get_by_role("alert")
    expect(conflict.get_by_role("heading")).to_have_text("staging is taken at that time")
    expect(conflict).to_contain_text("Search holds it for “Load test”")
    expect(conflict).to_contain_text(f"The next free 2 h slot is {tuesday:%a %-d %b}, 16:30–18:30")
    expect(conflict.get_by_role("button", name="Join the waitlist")).to_be_visible()
    conflict.get_by_role("button", name="Book this slot instead").click()

    expect(page.get_by_role("status")).to_have_text(
        f"Booked staging for Payments: {tuesday:%a %-d %b}, 16:30–18:30."
    )
    mine = page.get_by_role("link", name="Payments: Payments 4.3 regression tests")
    expect(mine).to_be_visible()
    booking = Booking.objects.get(team=payments)
    assert (booking.start, booking.end) == (at(tuesday, 16, 30), at(tuesday, 18, 30))

    # On a phone the same week reads as an agenda, without sideways scrolling.
    phone = open_page(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    log_in(phone, "alice", PASSWORD)
    phone.goto(f"/environments/?from={tuesday - timedelta(days=1)}")
    agenda = phone.locator(".agenda__env").filter(has_text="staging")
    expect(agenda).to_contain_text("Search · Load test")
    expect(agenda).to_contain_text("Payments · Payments 4.3 regression tests")
    expect(phone.locator(".lanes-card")).to_be_hidden()
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width == PHONE["width"]
