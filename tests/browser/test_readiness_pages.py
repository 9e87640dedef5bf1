"""Readiness in a real browser: the manager reads the go/no-go board (on a desk and on a
phone), an approver follows Home to the sign-off page, and the manager follows Home to the
Readiness panel of a blocked release."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from releases import services
from tests.conftest import PASSWORD
from tests.readiness.conftest import (  # noqa: F401  (fixtures used by the tests below)
    approvers,
    candidate,
    check,
    frozen,
    leo,
    planned,
    policy,
    priya,
    sam,
)

from .conftest import PHONE, log_in

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; restore the roles migration's groups afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BOARD = "/releases/readiness/"
FAILED_RUN = "https://ci.example.com/run/4"
BOARD_PNG = Path("/tmp/board.png")
HOME_PNG = Path("/tmp/home.png")


@pytest.fixture
def tomorrow():
    return (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def browse(open_page):
    """``browse(viewport, **options)``: a page like ``open_page``'s that records console errors,
    uncaught exceptions and failed responses in ``page.errors`` (see ``assert_no_errors``)."""

    def make(*args, **options):
        page = open_page(*args, **options)
        page.errors = []

        def on_console(message):
            if message.type == "error":
                page.errors.append(f"console: {message.text} ({message.location.get('url')})")

        def on_response(response):
            if response.status >= 400:  # the favicon too: the pages name theirs
                page.errors.append(f"HTTP {response.status}: {response.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: page.errors.append(f"exception: {error}"))
        page.on("response", on_response)
        return page

    return make


def assert_no_errors(page) -> None:
    assert page.errors == [], f"errors while on {page.url}: {page.errors}"


@pytest.fixture
def blocked(make_release, manager, candidate, check, policy, search, tomorrow):  # noqa: F811
    """A Payments release going live tomorrow whose integration tests failed (NO-GO), and a
    Search release going live the day after (no policy, nothing failed)."""
    release = make_release(name="Payments 4.3", version="4.3", go_live=tomorrow)
    services.release_transition(actor=manager, release=release, to_state="planned")
    build = candidate(release)
    check(build, "unit-tests", "passed", summary="412 passed")
    check(build, "integration-tests", "failed", url=FAILED_RUN, summary="3 failed")
    other = make_release(
        name="Search 2.1", version="2.1", team=search, go_live=tomorrow + timedelta(days=1)
    )
    services.release_transition(actor=manager, release=other, to_state="planned")
    return release, build


def board_rows(page):
    return page.locator("table.board tbody tr")


def test_the_manager_reads_the_board_and_filters_it_by_team(browse, blocked):
    _release, build = blocked
    page = browse()
    log_in(page, "manager", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Readiness").click()
    expect(page.get_by_role("heading", name="Go/no-go board", level=1)).to_be_visible()
    expect(board_rows(page)).to_have_count(2)

    row = page.get_by_role("row").filter(has_text="Payments 4.3")
    expect(row).to_have_attribute("data-verdict", "NO-GO")
    expect(row.locator(".verdict")).to_have_text("NO-GO")
    expect(row.locator(".verdict")).to_have_class(re.compile(r"\bverdict--no-go\b"))
    # The state is spelled out in words in each cell, not only shown in colour.
    failed = row.locator(".board__cell--fail")
    expect(failed).to_have_count(1)
    expect(failed.locator(".board__state")).to_have_text("Failed")
    reason = failed.get_by_role("link", name=f"integration-tests failed on {build.version}")
    expect(reason).to_be_visible()
    expect(reason).to_have_attribute("href", FAILED_RUN)
    for cell in row.locator(".board__cell").all():
        expect(cell.locator(".board__state")).to_have_text(
            re.compile(r"^(Passed|Failed|Pending|Waived)$")
        )
    expect(page.locator(".page-head")).to_contain_text("1 NO-GO")

    BOARD_PNG.unlink(missing_ok=True)
    page.screenshot(path=BOARD_PNG, full_page=True)

    # Filter to Search with the form: only Search's release remains.
    page.get_by_label("Team").select_option(label="Search")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"[?&]team=search\b"))
    expect(board_rows(page)).to_have_count(1)
    expect(board_rows(page).first).to_contain_text("Search 2.1")
    expect(page.get_by_role("row").filter(has_text="Payments 4.3")).to_have_count(0)
    expect(page.get_by_label("Team")).to_have_value("search")
    expect(page.locator(".page-head")).to_contain_text("for Search")

    # And back to every team.
    page.get_by_label("Team").select_option(label="All teams")
    page.get_by_role("button", name="Show").click()
    expect(board_rows(page)).to_have_count(2)
    assert_no_errors(page)


def test_the_board_is_readable_on_a_phone(browse, blocked):
    page = browse(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    log_in(page, "manager", PASSWORD)
    page.goto(BOARD)
    expect(page.get_by_role("heading", name="Go/no-go board", level=1)).to_be_visible()

    widths = page.evaluate(
        "() => ({inner: window.innerWidth, doc: document.documentElement.scrollWidth,"
        " body: document.body.scrollWidth})"
    )
    assert widths["inner"] == PHONE["width"]
    # The page itself does not scroll sideways...
    assert widths["doc"] <= widths["inner"], widths
    assert widths["body"] <= widths["inner"], widths
    # ...the wide table scrolls inside its card instead.
    wrap = page.locator(".card .table-wrap").filter(has=page.locator("table.board"))
    expect(wrap).to_have_count(1)
    assert wrap.evaluate("el => getComputedStyle(el).overflowX") in ("auto", "scroll")
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
    box = wrap.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]

    # The verdict of each release can be read without scrolling the table.
    row = page.get_by_role("row").filter(has_text="Payments 4.3")
    verdict = row.locator(".verdict")
    expect(verdict).to_be_visible()
    expect(verdict).to_have_text("NO-GO")
    verdict_box = verdict.bounding_box()
    assert verdict_box is not None
    assert verdict_box["x"] >= 0 and verdict_box["x"] + verdict_box["width"] <= PHONE["width"]

    # Scrolling the table sideways reaches the failing gate and its link.
    failed = row.locator(".board__cell--fail")
    failed.scroll_into_view_if_needed()
    expect(failed.locator(".board__state")).to_have_text("Failed")
    expect(failed.get_by_role("link")).to_have_attribute("href", FAILED_RUN)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path="/tmp/board-phone.png", full_page=True)
    assert_no_errors(page)


def test_home_sends_an_approver_to_the_sign_off_page(browse, frozen, priya):  # noqa: F811
    release = frozen(name="Checkout 5.0", version="5.0")
    page = browse()
    log_in(page, "priya", PASSWORD)
    page.get_by_role("link", name="Relcal").click()
    expect(page.get_by_role("heading", name="What needs you", level=1)).to_be_visible()

    section = page.locator("section").filter(
        has=page.get_by_role("heading", name="Sign-offs waiting for you")
    )
    expect(section).to_be_visible()
    item = section.get_by_role("listitem").filter(has_text="Checkout 5.0")
    expect(item).to_contain_text("Product")
    link = item.get_by_role("link", name="Checkout 5.0")
    expect(link).to_have_attribute(
        "href", f"/admin/approvals/signoff/sign/{release.pk}/?role=product"
    )

    link.click()
    page.wait_for_url(f"**/admin/approvals/signoff/sign/{release.pk}/?role=product")
    heading = page.locator("#content h1")
    expect(heading).to_have_text(re.compile(r"^Sign off\b"))
    expect(heading).to_contain_text("Checkout 5.0")
    assert_no_errors(page)


def test_home_shows_the_manager_a_blocked_release_and_opens_its_readiness(browse, blocked):
    release, build = blocked
    page = browse()
    log_in(page, "manager", PASSWORD)
    page.get_by_role("link", name="Relcal").click()
    expect(page.get_by_role("heading", name="What needs you", level=1)).to_be_visible()

    section = page.locator("section").filter(
        has=page.get_by_role("heading", name="Your releases this week that are not GO")
    )
    expect(section).to_be_visible()
    item = section.get_by_role("listitem").filter(has_text="Payments 4.3")
    expect(item.locator(".verdict")).to_have_text("NO-GO")
    # What blocks it, in words.
    expect(item).to_contain_text(f"integration-tests failed on {build.version}")
    expect(page.get_by_text("Nothing needs you right now")).to_have_count(0)

    HOME_PNG.unlink(missing_ok=True)
    page.screenshot(path=HOME_PNG, full_page=True)

    item.get_by_role("link", name="Payments 4.3").click()
    page.wait_for_url(f"**{release.get_absolute_url()}#readiness")
    expect(page.get_by_role("heading", name="Payments 4.3", level=1)).to_be_visible()
    panel = page.locator("#readiness")
    expect(panel).to_be_in_viewport()
    expect(panel.get_by_role("heading", name=re.compile(r"^Readiness"))).to_contain_text("NO-GO")
    gate = panel.locator(".gates__item--fail")
    expect(gate).to_have_count(1)
    expect(gate.locator(".gates__state")).to_have_text("Failed")
    failing = gate.get_by_role("link", name=f"integration-tests failed on {build.version}")
    expect(failing).to_have_attribute("href", FAILED_RUN)
    assert_no_errors(page)
