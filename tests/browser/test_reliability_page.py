"""The Reliability pages in a real browser: Alice follows the nav to her service and reads its
error-budget burn-down chart (the line, the freeze threshold, a deployment marker with its
tooltip) on a desk and on a phone, with no console errors."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from environments.models import Deployment, DeploymentOutcome, Environment
from reliability import services
from reliability.models import SLO, SLISource, SLOSnapshot, SLOState
from tests.conftest import PASSWORD
from tests.reliability.budget_helpers import evaluated

from .conftest import PHONE, log_in

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; restore the roles migration's groups afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DESKTOP_PNG = Path("/tmp/reliability.png")
PHONE_PNG = Path("/tmp/reliability-phone.png")


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
def checkout(manager, payments, alice, make_release) -> SLO:
    """Payments API's "checkout success": 20 days of evaluations, the budget falling from 80 %
    to 18 % after Payments 4.2 went to production five days ago."""
    service = services.service_create(
        actor=manager, team=payments, name="Payments API", slug="payments-api"
    )
    slo = services.slo_create(
        actor=manager,
        service=service,
        name="checkout success",
        objective=Decimal("99.5"),
        source=SLISource.PUSHED,
    )
    now = timezone.now()
    deployed = now - timedelta(days=5)
    hours = 20 * 24
    SLOSnapshot.objects.bulk_create(
        SLOSnapshot(
            slo=slo,
            at=now - timedelta(hours=hours - i),
            state=SLOState.HEALTHY,
            budget_remaining=0.8 if now - timedelta(hours=hours - i) < deployed else 0.18,
        )
        for i in range(hours)
    )
    evaluated(slo, SLOState.AT_RISK, 0.18)
    prod = Environment.objects.create(name="prod", slug="prod", kind="prod")
    release = make_release(name="Payments 4.2", version="4.2.0")
    Deployment.objects.create(
        environment=prod,
        release=release,
        version="4.2.0",
        deployed_at=deployed,
        finished_at=deployed + timedelta(minutes=20),
        outcome=DeploymentOutcome.SUCCEEDED,
    )
    return slo


def test_alice_reads_the_burn_down_chart_of_her_service(browse, checkout):
    page = browse()
    log_in(page, "alice", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reliability").click()
    expect(page.get_by_role("heading", name="Reliability", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text="checkout success")
    expect(row).to_contain_text("At risk")
    expect(row).to_contain_text("18.0%")

    page.get_by_role("link", name="Payments API").click()
    page.wait_for_url("**/reliability/payments-api/")
    panel = page.locator(f"#slo-{checkout.pk}")
    expect(panel.locator(".slo__status")).to_have_text(
        "At risk: only 18.0% of the error budget is left, below the 25% freeze threshold."
    )

    chart = panel.locator("svg.burndown--wide")
    expect(chart).to_be_visible()
    expect(panel.locator("svg.burndown--narrow")).to_be_hidden()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 800 and box["height"] > 200
    expect(chart).to_have_attribute("role", "img")
    expect(chart.locator("title").first).to_have_text(
        "Error budget left of Payments API checkout success (99.5%), last 28 days"
    )

    threshold = chart.locator(".burndown__threshold")
    expect(threshold.locator("text")).to_have_text("freeze threshold (25%)")
    # A horizontal line has no height, so Playwright calls it hidden: measure it instead. It
    # spans the plot a quarter of the way up from the zero line to the 100% line.
    across = threshold.locator("line").bounding_box()
    zero = chart.locator(".burndown__zero").bounding_box()
    full = chart.locator(".burndown__grid").first.bounding_box()
    assert across is not None and zero is not None and full is not None
    assert across["width"] > 0.9 * box["width"]
    share = (zero["y"] - across["y"]) / (zero["y"] - full["y"])
    assert share == pytest.approx(0.25, abs=0.02)
    line = chart.locator(".burndown__line")
    expect(line).to_be_visible()

    marker = chart.locator(".burndown__deployment")
    expect(marker).to_have_count(1)
    expect(marker.locator("title")).to_have_text(
        re.compile(r"^4\.2\.0 to prod, succeeded, \d+ \w+ \d\d:\d\d$")
    )
    # The marker sits where the line drops: right of the middle of a 28-day axis.
    marker_box = marker.locator("line").first.bounding_box()
    assert marker_box is not None
    assert box["x"] + box["width"] / 2 < marker_box["x"] < box["x"] + box["width"]

    # Hovering a point shows it (a native tooltip from its <title> comes with it).
    point = chart.locator(".burndown__point").last
    point.hover()
    expect(point).to_have_css("fill", "rgb(52, 81, 178)")
    expect(point.locator("title")).to_contain_text("18.0% of the budget left")

    # The exact values, for whoever cannot read the picture.
    panel.get_by_text("Exact values").click()
    expect(panel.locator(".burndown-values tbody tr")).to_have_count(30)
    expect(panel.locator(".burndown-values tbody tr").last).to_contain_text("18.0%")

    deployments = page.locator("#deployments")
    expect(deployments).to_contain_text("Payments 4.2")
    expect(deployments).to_contain_text("Succeeded")

    DESKTOP_PNG.unlink(missing_ok=True)
    page.screenshot(path=DESKTOP_PNG, full_page=True)
    assert_no_errors(page)


def test_the_chart_reads_on_a_phone(browse, checkout):
    page = browse(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    log_in(page, "alice", PASSWORD)
    page.goto("/reliability/payments-api/")
    panel = page.locator(f"#slo-{checkout.pk}")
    chart = panel.locator("svg.burndown--narrow")
    expect(chart).to_be_visible()
    expect(panel.locator("svg.burndown--wide")).to_be_hidden()
    box = chart.bounding_box()
    assert box is not None
    # The whole chart fits the screen, tall enough to read.
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] > 200
    expect(chart.locator(".burndown__threshold text")).to_have_text("freeze threshold (25%)")
    expect(chart.locator(".burndown__deployment")).to_have_count(1)
    # The page does not scroll sideways.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    PHONE_PNG.unlink(missing_ok=True)
    page.screenshot(path=PHONE_PNG, full_page=True)
    assert_no_errors(page)
