"""The first visit picks the browser's time zone (a static script posts
``Intl.DateTimeFormat().resolvedOptions().timeZone``); a zone the person chose stays."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts import zones
from tests.conftest import PASSWORD
from tests.zones import set_zone

from .conftest import log_in

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; restore the roles migration's groups afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_first_visit_takes_the_browsers_zone(open_page, alice):
    page = open_page(timezone_id="America/Sao_Paulo")
    log_in(page, "alice", PASSWORD)
    # The page is shown again at once, in the zone just recorded.
    expect(page.locator(".site-footer")).to_contain_text("times shown in America/Sao_Paulo")
    assert zones.stored(alice) == "America/Sao_Paulo"


def test_a_chosen_zone_is_kept_whatever_the_browser_says(open_page, alice):
    set_zone(alice, "Europe/Berlin")
    page = open_page(timezone_id="America/Sao_Paulo")
    log_in(page, "alice", PASSWORD)
    expect(page.locator(".site-footer")).to_contain_text("times shown in Europe/Berlin")
    assert page.locator("script[src*='time_zone']").count() == 0
    assert zones.stored(alice) == "Europe/Berlin"


def test_the_profile_page_changes_the_zone(open_page, alice):
    set_zone(alice, "Europe/Berlin")
    page = open_page()
    log_in(page, "alice", PASSWORD)
    page.goto("/profile/")
    page.get_by_role("combobox", name="Time zone").select_option("America/Sao_Paulo")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_role("status")).to_contain_text("Times now show in America/Sao_Paulo.")
    expect(page.locator(".site-footer")).to_contain_text("times shown in America/Sao_Paulo")
