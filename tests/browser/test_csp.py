"""The Content-Security-Policy in a real browser: what an injection would add is refused and
reported (so the watch every browser test runs under can fail), and the pages that need the most
(API docs, admin, computed styles) run under the policy without a violation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from demo.management.commands.seed_demo import PASSWORD as DEMO_PASSWORD
from environments.models import Environment
from releases import services
from releases.models import Release
from reliability.models import Service
from tests.conftest import PASSWORD

from .conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

INJECTIONS = {
    "inline-script": '<script>document.body.dataset.pwned = "yes";</script>',
    "event-handler": (
        '<img src="/static/relcal/favicon.svg" onload="document.body.dataset.pwned = \'yes\'">'
    ),
    "javascript-url": (
        "<a data-click href=\"javascript:void (document.body.dataset.pwned = 'yes')\">injected</a>"
    ),
    "style-attribute": '<p data-injected style="outline: 9px solid red">injected</p>',
    "style-element": "<style>body { outline: 9px solid red; }</style>",
}


def wait_for_violations(page, csp_watch) -> list[str]:
    for _ in range(50):
        if csp_watch.violations:
            break
        page.wait_for_timeout(100)
    # Were the policy only reporting, what it reported would now have run (a javascript: link
    # runs in a task of its own): give it the time to, so that the checks below would see it.
    page.wait_for_timeout(300)
    return list(csp_watch.violations)


@pytest.mark.parametrize("kind", INJECTIONS)
def test_an_injected_inline_script_or_style_is_refused_and_fails_the_test(
    open_page, csp_watch, manager, kind
):
    page = open_page()
    log_in(page, "manager", PASSWORD)

    # What an HTML injection would do: the server's answer, headers and all, plus markup.
    def inject(route):
        response = route.fetch()
        body = response.text().replace("</main>", INJECTIONS[kind] + "</main>")
        route.fulfill(response=response, body=body)

    page.route("**/releases/", inject)
    page.goto("/releases/")
    if kind == "javascript-url":
        page.locator("[data-click]").click()

    violations = wait_for_violations(page, csp_watch)
    assert violations, "the browser reported nothing"
    assert page.evaluate("document.body.dataset.pwned") is None
    outlines = page.evaluate(
        "[document.body, ...document.querySelectorAll('[data-injected]')]"
        ".map((element) => getComputedStyle(element).outlineWidth)"
    )
    assert "9px" not in outlines
    with pytest.raises(pytest.fail.Exception, match="Content-Security-Policy violations"):
        csp_watch.assert_none()
    csp_watch.violations.clear()  # proven: let the teardown pass


def test_the_api_docs_run_under_the_policy(open_page, alice):
    page = open_page()
    log_in(page, "alice", PASSWORD)
    page.goto("/api/v1/docs/")
    expect(page.get_by_role("heading", name="Relcal API")).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    page.locator(".opblock-summary").first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()


def test_the_admin_runs_under_the_policy(open_page, admin, manager, payments):
    release = services.release_create(
        actor=manager,
        team=payments,
        name="Payments 5.0",
        version="5.0",
        go_live=datetime(2031, 5, 1, 9, 0, tzinfo=UTC),
    )
    page = open_page()
    log_in(page, "admin", PASSWORD)
    page.goto("/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    # A list without actions: Django writes a <style> element, which carries the nonce.
    page.goto("/admin/approvals/auditevent/")
    expect(page.locator("#result_list")).to_be_visible()
    page.goto("/admin/releases/team/")
    expect(page.locator("#result_list")).to_be_visible()
    page.goto(f"/admin/releases/release/{release.pk}/change/")
    expect(page.locator("#release_form")).to_be_visible()
    # The date widget's shortcuts and the inlines' "Add another" are drawn by the admin's scripts.
    page.locator(".datetimeshortcuts a").first.click()
    page.locator(".add-row a").first.click()
    # The two-box selector of a team's members.
    page.goto(f"/admin/releases/team/{payments.pk}/change/")
    expect(page.locator(".selector").first).to_be_visible()
    # An autocomplete (select2) drop-down, opened and searched.
    page.goto("/admin/delivery/incident/add/")
    page.locator(".select2-selection").first.click()
    expect(page.locator(".select2-results__option").first).to_be_visible()


def test_computed_styles_apply_under_the_policy(open_page, manager, payments):
    payments.color = "#12ab34"
    payments.save()
    release = services.release_create(
        actor=manager,
        team=payments,
        name="Payments 4.2",
        version="4.2",
        go_live=datetime(2031, 5, 1, 9, 0, tzinfo=UTC),
    )
    page = open_page()
    log_in(page, "manager", PASSWORD)
    page.goto(f"/releases/{release.pk}/")
    colour = page.locator(".release-head").evaluate(
        "(element) => getComputedStyle(element).getPropertyValue('--team-color').trim()"
    )
    assert colour == "#12ab34"


def tour(page, urls: list[str]) -> None:
    for url in urls:
        response = page.goto(url)
        assert response.status == 200, url
        # Scripts run after parsing: let them draw what they draw before the next page.
        page.wait_for_load_state("load")


def test_a_tour_of_every_page_with_demo_data_meets_the_policy(open_page, demo):
    release = Release.objects.order_by("pk").first()
    environment = Environment.objects.order_by("pk").first()
    service = Service.objects.order_by("pk").first()
    page = open_page()
    log_in(page, "admin", DEMO_PASSWORD)
    tour(
        page,
        [
            "/",
            "/releases/",
            "/releases/new/",
            "/releases/readiness/",
            "/releases/freezes/",
            f"/releases/{release.pk}/",
            f"/releases/{release.pk}/edit/",
            f"/releases/{release.pk}/delete/",
            "/calendar/",
            "/calendar/agenda/",
            "/environments/",
            "/environments/book/",
            "/environments/bookings/",
            f"/environments/{environment.slug}/",
            f"/environments/{environment.slug}/deployments/",
            "/reliability/",
            f"/reliability/{service.slug}/",
            "/delivery/",
            "/evidence/",
            f"/evidence/releases/{release.pk}/",
            "/profile/",
            "/api/v1/",
            "/api/v1/releases/",
            "/admin/",
            "/admin/approvals/auditevent/",
            f"/admin/releases/release/{release.pk}/change/",
            "/admin/releases/release/add/",
        ],
    )


def test_an_approver_signs_in_the_admin_under_the_policy(open_page, demo):
    page = open_page()
    log_in(page, "product", DEMO_PASSWORD)
    tour(page, ["/", "/admin/", "/admin/approvals/signoff/pending/"])
    page.get_by_role("link", name="Review and sign").first.click()
    expect(page.locator("#snapshot")).to_be_visible()
