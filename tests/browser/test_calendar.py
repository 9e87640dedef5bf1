"""Sam's journey in a real browser: the calendar, its agenda, and a subscription link."""

from __future__ import annotations

import re
import urllib.request
from datetime import timedelta

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


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_stakeholder_switches_to_the_agenda_and_subscribes(
    open_page, live_server, settings, manager, payments, viewport
):
    settings.SITE_URL = live_server.url
    go_live = (timezone.now() + timedelta(days=2)).replace(hour=10, minute=0, second=0)
    services.release_create(
        actor=manager, team=payments, name="Payments 4.2", version="4.2", go_live=go_live
    )
    page = open_page(PHONE) if viewport == "phone" else open_page()
    log_in(page, "manager", PASSWORD)

    page.get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", name="Calendar", level=1)).to_be_visible()
    expect(page.locator("[aria-current=date]")).to_contain_text("Today")

    page.get_by_role("link", name="Agenda").click()
    page.wait_for_url("**/calendar/agenda/**")
    expect(page.get_by_role("link", name="Payments 4.2 — go-live")).to_be_visible()

    page.get_by_text("Payments", exact=True).first.click()  # the team filter applies at once
    page.wait_for_url("**team=payments**")
    expect(page.get_by_role("link", name="Payments 4.2 — go-live")).to_be_visible()

    page.locator("#subscribe > summary").click()
    expect(page.get_by_text("Subscribe in your calendar app")).to_be_visible()
    page.get_by_role("button", name="Create subscription link").click()
    # The test server is plain http, and the link says so.
    https = page.get_by_label("For Google Calendar and Outlook (http)")
    expect(https).to_have_value(re.compile(r"^http://.*/feeds/[-\w]{43}\.ics$"))
    expect(page.get_by_label("For Apple Calendar (webcal)")).to_have_value(
        re.compile(r"^webcal://.*/feeds/[-\w]{43}\.ics$")
    )
    expect(page.get_by_role("button", name="Copy").first).to_be_visible()

    # The link works without a session, as a calendar client would fetch it.
    with urllib.request.urlopen(https.input_value(), timeout=10) as feed:
        assert feed.status == 200
        assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert "SUMMARY:Payments 4.2 — go-live" in feed.read().decode()
