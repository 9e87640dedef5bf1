"""The Delivery metrics page in a real browser: Alice follows the nav to it, reads the four keys
and their bands, hovers a week of the deployment chart, narrows the page to her team per month,
reads the exact values and downloads the CSV; on a phone the nav keeps every link in sight and
the narrow charts fit the screen. No console errors on the way."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from approvals.readiness.services import candidate_report
from delivery.incidents import incident_open
from environments.models import Environment
from environments.services import deployment_record
from reliability.models import Service
from tests.conftest import PASSWORD

from .conftest import PHONE, log_in

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; restore the roles migration's groups afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DESKTOP_PNG = Path("/tmp/delivery.png")
PHONE_PNG = Path("/tmp/delivery-phone.png")
KEYS = ("deployment_frequency", "lead_time_for_changes", "change_failure_rate",
        "time_to_restore_service")  # fmt: skip


@pytest.fixture
def browse(open_page):
    """``browse(viewport, **options)``: a page that records console errors, uncaught exceptions
    and failed responses in ``page.errors``."""

    def make(*args, **options):
        page = open_page(*args, **options)
        page.errors = []

        def on_console(message):
            if message.type == "error":
                page.errors.append(f"console: {message.text} ({message.location.get('url')})")

        def on_response(response):
            if response.status >= 400:
                page.errors.append(f"HTTP {response.status}: {response.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: page.errors.append(f"exception: {error}"))
        page.on("response", on_response)
        return page

    return make


def assert_no_errors(page) -> None:
    assert page.errors == [], f"errors while on {page.url}: {page.errors}"


@pytest.fixture
def shipped(manager, alice, bob, payments, search, make_release):
    """Eight weeks of production deployments: Payments every Tuesday and Thursday with a day of
    lead time, Search each Wednesday with three; Payments' deployment three weeks ago caused an
    incident on Payments API that took two hours to restore."""
    prod = Environment.objects.create(name="prod", slug="prod", kind="prod")
    checkout = Service.objects.create(team=payments, name="Payments API", slug="payments-api")
    Service.objects.create(team=search, name="Search API", slug="search-api")
    releases = {
        "payments": make_release(team=payments, name="Payments CD", version="cd"),
        "search": make_release(team=search, name="Search CD", version="cd"),
    }
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    caused = None
    for back in range(56, 0, -1):
        finished = now - timedelta(days=back)
        team = {1: "payments", 3: "payments", 2: "search"}.get(finished.weekday())
        if team is None:
            continue
        lead = timedelta(days=1 if team == "payments" else 3)
        release = releases[team]
        candidate = candidate_report(
            actor=manager,
            release=release,
            version=f"{team}-{back}",
            commit_sha=f"{back:040x}",
            artifact_digest=f"sha256:{back:064x}",
            first_commit_at=finished - lead,
            last_commit_at=finished - lead / 2,
        )
        deployment = deployment_record(
            actor=manager,
            environment=prod,
            candidate=candidate,
            deployed_at=finished - timedelta(minutes=10),
            finished_at=finished,
            move_release=False,
        )
        if team == "payments" and caused is None and back <= 21:
            caused = deployment
    incident_open(
        actor=manager,
        title="Checkout errors",
        services=[checkout],
        opened_at=caused.finished_at + timedelta(hours=1),
        resolved_at=caused.finished_at + timedelta(hours=3),
        deployment=caused,
    )
    return releases


def test_alice_reads_the_delivery_metrics_and_their_trends(browse, shipped):
    page = browse()
    log_in(page, "alice", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Delivery").click()
    page.wait_for_url("**/delivery/")
    expect(page.get_by_role("heading", name="Delivery metrics", level=1)).to_be_visible()
    for metric in KEYS:
        card = page.locator(f"article[data-metric='{metric}']")
        expect(card).to_be_visible()
        expect(card.locator(".band")).to_have_text(re.compile("^(Elite|High|Medium|Low|No data)$"))
    expect(
        page.locator("article[data-metric='lead_time_for_changes'] .dora-key__value")
    ).to_have_text("1 d")
    expect(
        page.locator("article[data-metric='time_to_restore_service'] .dora-key__value")
    ).to_have_text("2 h")

    chart = page.locator("svg#trend-deployment_frequency")
    expect(chart).to_be_visible()
    expect(page.locator("svg#trend-deployment_frequency-narrow")).to_be_hidden()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 800 and box["height"] > 180
    expect(chart.locator("title").first).to_have_text(
        "Deployment frequency per week, all teams you can see"
    )
    # A week with deployments: hovering its column lights it up, and its tooltip (the column's
    # <title>) gives the exact figures.
    weeks = chart.locator(".trend__bucket")
    week = weeks.nth(weeks.count() - 3)  # a whole week, within the eight weeks of deployments
    week.hover()
    expect(week.locator(".trend__hit")).to_have_css("fill", "rgb(232, 237, 251)")
    expect(week.locator("title")).to_have_text(
        re.compile(r"^Week of \d+ \w+ \d{4}: 3 deployments \(0\.43 a day\)$")
    )
    # The weekly median lead time is a day every week with deployments: a level line (which
    # Playwright calls hidden, having no height) through a dot per such week.
    lead_chart = page.locator("svg#trend-lead_time_for_changes")
    expect(lead_chart.locator(".trend__line")).to_have_count(1)
    expect(lead_chart.locator(".trend__point")).to_have_count(8)
    expect(lead_chart.locator(".trend__point").first).to_be_visible()

    # Narrow it to Payments, per month, over custom dates.
    start = (timezone.localdate() - timedelta(days=50)).isoformat()
    page.get_by_label("Team", exact=True).select_option(label="Payments")
    page.get_by_label("From", exact=True).fill(start)
    expect(page.get_by_label("Period", exact=True)).to_have_value("custom")  # the date picked it
    page.get_by_label("Trend", exact=True).select_option(label="Per month")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r".*/delivery/\?.*team=payments.*"))
    expect(page.get_by_role("heading", name="Trends per month")).to_be_visible()
    expect(page.locator(".page-head")).to_contain_text("Payments ·")
    lead = page.locator("#trend-card-lead_time_for_changes")
    lead.get_by_text("Exact values").click()
    expect(lead.locator("tbody tr").first).to_be_visible()
    expect(lead.locator("tbody")).to_contain_text("1 d")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the series (CSV)").click()
    path = download.value.path()
    table = list(csv.DictReader(io.StringIO(Path(path).read_text())))
    assert {row["team"] for row in table} == {"payments"}
    assert {row["interval"] for row in table} == {"monthly"}
    assert sum(int(row["deployments"]) for row in table) > 0

    DESKTOP_PNG.unlink(missing_ok=True)
    page.goto("/delivery/")
    page.screenshot(path=DESKTOP_PNG, full_page=True)
    assert_no_errors(page)


def test_the_page_and_its_nav_read_on_a_phone(browse, shipped):
    page = browse(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    log_in(page, "alice", PASSWORD)
    page.goto("/delivery/")
    # Every link of the nav is on the screen: it wraps rather than hide links off the edge.
    for link in page.get_by_role("navigation", name="Main").get_by_role("link").all():
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    chart = page.locator("svg#trend-deployment_frequency-narrow")
    expect(chart).to_be_visible()
    expect(page.locator("svg#trend-deployment_frequency")).to_be_hidden()
    box = chart.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] > 180
    # The page does not scroll sideways.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    PHONE_PNG.unlink(missing_ok=True)
    page.screenshot(path=PHONE_PNG, full_page=True)
    assert_no_errors(page)
