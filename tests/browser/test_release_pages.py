"""Maya plans a release in a real browser, and the list page fits a phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from releases import services
from tests.conftest import PASSWORD

from .conftest import PHONE, log_in

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; restore the roles migration's groups afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_manager_plans_a_release_and_moves_it_to_planned(open_page, manager, payments, search):
    services.release_create(
        actor=manager,
        team=search,
        name="Search 2.1",
        version="2.1",
        go_live=datetime(2031, 5, 1, 9, 0, tzinfo=UTC),
    )
    page = open_page()
    log_in(page, "manager", PASSWORD)
    expect(page.get_by_role("heading", name="Releases")).to_be_visible()
    expect(page.get_by_role("link", name="Search 2.1")).to_be_visible()

    page.get_by_role("link", name="New release").click()
    page.get_by_label("Name").fill("Payments 4.3")
    page.get_by_label("Version").fill("4.3")
    page.get_by_label("Team").select_option(label="Payments")
    page.get_by_label("Planned go-live").fill("2031-05-12T10:00")
    page.get_by_label("Deployment strategy").select_option(label="Canary")
    page.get_by_label("Rollback plan").fill("Route all traffic back to the old pods.")
    page.get_by_role("button", name="Create release").click()

    expect(page.get_by_role("heading", name="Payments 4.3", level=1)).to_be_visible()
    expect(page.get_by_text("Release “Payments 4.3” created as a draft.")).to_be_visible()
    head = page.locator(".release-head")
    expect(head.locator(".badge")).to_have_text("Draft")
    expect(head).to_contain_text("Mon 12 May 2031, 10:00 UTC")
    expect(head).to_contain_text("Canary")

    milestones = page.locator("#milestones")
    milestones.get_by_text("Add milestone", exact=True).first.click()
    milestones.get_by_label("Kind").select_option(label="Code freeze")
    milestones.get_by_label("Date (all-day)").fill("2031-05-05")
    milestones.get_by_role("button", name="Add milestone").click()
    expect(page.get_by_text("Milestone “Code freeze” added.")).to_be_visible()
    timeline = page.locator("#milestones .timeline__item")
    expect(timeline).to_have_count(2)
    expect(timeline.first).to_contain_text("Mon 5 May 2031 · all day")
    expect(timeline.last).to_contain_text("Go-live")

    scope = page.locator("#scope")
    scope.get_by_text("Add scope item", exact=True).first.click()
    scope.get_by_label("Title").fill("Card tokens")
    scope.get_by_label("Ticket key").fill("PAY-101")
    scope.get_by_label("Ticket url").fill("https://tickets.example.com/PAY-101")
    scope.get_by_role("button", name="Add scope item").click()
    expect(page.get_by_role("link", name="PAY-101")).to_have_attribute(
        "href", "https://tickets.example.com/PAY-101"
    )

    deps = page.locator("#dependencies")
    deps.get_by_text("Add dependency", exact=True).first.click()
    deps.get_by_label("This release").select_option(label="needs shipped first")
    deps.get_by_label("Search 2.1 (Search, 1 May 2031)").check()
    deps.get_by_role("button", name="Add dependency").click()
    expect(page.locator("#dependencies")).to_contain_text("Needs shipped first:")
    expect(page.locator("#dependencies")).to_contain_text("Search 2.1")

    lifecycle = page.locator("#lifecycle")
    lifecycle.get_by_label("Move to").select_option(label="Planned")
    lifecycle.get_by_role("button", name="Move release").click()
    expect(page.get_by_text("Payments 4.3 is now Planned.")).to_be_visible()
    expect(head.locator(".badge")).to_have_text("Planned")
    expect(page.locator("#lifecycle .history__item").last).to_contain_text("Draft → Planned")
    expect(page.locator("#lifecycle .history__item").last).to_contain_text("Manager")

    page.get_by_role("link", name="Releases", exact=True).first.click()
    row = page.get_by_role("row").filter(has_text="Payments 4.3")
    expect(row).to_contain_text("Planned")
    expect(row).to_contain_text("Payments")
    expect(row).to_contain_text("Mon 12 May")


def test_the_release_list_fits_a_phone_screen(open_page, manager, alice, payments, search, soon):
    for number in range(12):
        release = services.release_create(
            actor=manager,
            team=payments if number % 2 else search,
            name=f"Checkout modernisation programme phase {number}",
            version=f"2031.{number}.0-beta",
            go_live=soon + timedelta(days=number * 9),
        )
        services.scope_item_create(
            actor=manager,
            release=release,
            title="Replace the legacy payment gateway client with the new asynchronous one",
            ticket_key=f"PAY-{1000 + number}",
            ticket_url=f"https://tickets.example.com/browse/PAY-{1000 + number}",
            owner=alice,
        )
    page = open_page(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    log_in(page, "manager", PASSWORD)
    expect(page.get_by_role("link", name="New release")).to_be_visible()

    def widths() -> dict:
        return page.evaluate(
            "() => ({inner: window.innerWidth, doc: document.documentElement.scrollWidth,"
            " body: document.body.scrollWidth})"
        )

    # The viewport meta tag is honoured and nothing is wider than the screen.
    assert widths() == {"inner": PHONE["width"], "doc": PHONE["width"], "body": PHONE["width"]}
    # Each release row is readable without scrolling sideways: it ends inside the screen.
    row = page.get_by_role("row").filter(has_text="phase 3")
    box = row.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    expect(row).to_contain_text("Draft")

    page.get_by_role("link", name="Checkout modernisation programme phase 3").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("phase 3")
    on_detail = widths()
    assert on_detail == {"inner": PHONE["width"], "doc": PHONE["width"], "body": PHONE["width"]}
    # The wide scope table scrolls inside its own box instead of widening the page.
    assert page.locator("#scope .table-wrap").evaluate("el => el.scrollWidth > el.clientWidth")


def test_a_refused_dependency_is_announced_and_the_focus_goes_to_the_field(
    open_page, manager, payments, search
):
    go_live = datetime(2031, 5, 1, 9, 0, tzinfo=UTC)
    needs = services.release_create(
        actor=manager, team=payments, name="Payments 4.3", version="4.3", go_live=go_live
    )
    other = services.release_create(
        actor=manager, team=search, name="Search 2.1", version="2.1", go_live=go_live
    )
    services.dependency_create(actor=manager, release=needs, depends_on=other, kind="needs")
    page = open_page()
    log_in(page, "manager", PASSWORD)
    page.goto(f"/releases/{other.pk}/")

    deps = page.locator("#dependencies")
    deps.get_by_text("Add dependency", exact=True).first.click()
    deps.get_by_label("This release").select_option(label="needs shipped first")
    deps.get_by_role("radio", name="Payments 4.3").check()
    deps.get_by_role("button", name="Add dependency").click()

    # Post/redirect/get: a refresh shows the page, it does not post again.
    page.wait_for_url(f"**/releases/{other.pk}/#dependencies")
    expect(page.get_by_role("alert").first).to_contain_text("The dependency was not added")
    expect(page.get_by_role("alert").first).to_contain_text("cycle")
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("aria-invalid", "true")
    expect(focused).to_have_attribute("name", "depends_on")
