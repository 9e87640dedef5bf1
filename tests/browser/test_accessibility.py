"""Accessibility in a real browser: axe-core (WCAG 2.0/2.1 A and AA, and best practices) finds
nothing on the main pages with the demo data, for a release manager and for an approver in the
admin, so that a new violation fails CI."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from demo.management.commands.seed_demo import PASSWORD as DEMO_PASSWORD
from environments.models import Environment
from releases.models import Release, ReleaseState
from reliability.models import Service

from .conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def main_pages() -> list[str]:
    release = Release.objects.filter(dependencies__isnull=False).order_by("pk").first()
    environment = Environment.objects.order_by("pk").first()
    # The month of a cancelled release: struck-through items must stay readable.
    cancelled = Release.objects.filter(state=ReleaseState.CANCELLED).order_by("pk").first()
    return [
        "/",
        "/releases/",
        f"/releases/{release.pk}/",
        "/releases/readiness/",
        "/releases/new/",
        f"/releases/{release.pk}/edit/",
        "/calendar/",
        f"/calendar/?month={cancelled.go_live:%Y-%m}",
        "/calendar/agenda/",
        "/calendar/quarter/",
        "/releases/freezes/",
        "/evidence/",
        "/environments/",
        f"/environments/?from={timezone.localdate():%Y-%m-%d}&days=1",
        f"/environments/{environment.slug}/",
        f"/environments/{environment.slug}/deployments/",
        "/environments/book/",
        "/environments/bookings/",
        "/delivery/",
        "/reliability/",
        f"/reliability/{Service.objects.order_by('pk').first().slug}/",
        "/profile/",
    ]


def violations_on(page, axe, urls: list[str]) -> list[str]:
    """Every page's violations, all pages visited (a failure names them all, not the first)."""
    found = []
    for url in urls:
        response = page.goto(url)
        assert response.status == 200, url
        page.wait_for_load_state("load")
        found += axe.violations(page)
    return found


def test_the_main_pages_have_no_accessibility_violations(open_page, demo, axe):
    page = open_page()
    log_in(page, "manager", DEMO_PASSWORD)
    found = violations_on(page, axe, main_pages())
    assert not found, "axe-core found accessibility violations:\n" + "\n".join(found)


def test_the_admin_sign_off_pages_have_no_accessibility_violations(open_page, demo, axe):
    page = open_page()
    log_in(page, "product", DEMO_PASSWORD)
    found = violations_on(page, axe, ["/admin/approvals/signoff/pending/"])
    page.get_by_role("link", name="Review and sign").first.click()
    expect(page.locator("#snapshot")).to_be_visible()
    found += axe.violations(page)
    assert not found, "axe-core found accessibility violations:\n" + "\n".join(found)


# rule: (markup that breaks it, the element's selector, axe's help text)
BROKEN = {
    "image-alt": ('<img src="x.png">', "img", "Images must have alternative text"),
    "label-content-name-mismatch": (
        '<a href="#b" aria-label="Book qa">Payments 14:00</a><p id="b">b</p>',
        "a",
        "Elements must have their visible text as part of their accessible name",
    ),
}


@pytest.mark.parametrize("rule", list(BROKEN), ids=list(BROKEN))
def test_the_check_fails_naming_the_rule_the_element_and_the_help(open_page, axe, rule):
    markup, target, help_text = BROKEN[rule]
    page = open_page()
    page.set_content(f'<html lang="en"><title>t</title><main>{markup}</main></html>')
    with pytest.raises(pytest.fail.Exception) as failure:
        axe.check(page)
    message = str(failure.value)
    assert f": {rule} (" in message
    assert f"    {target}:" in message
    assert help_text in message
