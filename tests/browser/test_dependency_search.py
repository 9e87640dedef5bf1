"""The release page's dependency picker in a real browser: search as you type over the API
(dependency_search.js, under the strict CSP), and the plain search without JavaScript."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from releases import services
from releases.models import Release
from tests.conftest import PASSWORD

from .conftest import log_in

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; restore the roles migration's groups afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SOON = datetime(2031, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def crowded(manager, payments, search):
    """Payments 4.3, fifteen releases going live before Indexer 7.0, and Indexer 7.0."""
    own = services.release_create(
        actor=manager, team=payments, name="Payments 4.3", version="4.3", go_live=SOON
    )
    Release.objects.bulk_create(
        Release(
            name=f"Bulk {n}",
            version=f"bulk-{n}",
            team=payments,
            go_live=SOON + timedelta(hours=n),
        )
        for n in range(15)
    )
    far = services.release_create(
        actor=manager, team=search, name="Indexer 7.0", version="7.0",
        go_live=datetime(2031, 9, 3, 9, 0, tzinfo=UTC),
    )  # fmt: skip
    return own, far


def test_the_manager_finds_a_prerequisite_as_they_type(open_page, manager, crowded):
    own, _ = crowded
    page = open_page()
    log_in(page, "manager", PASSWORD)
    page.goto(f"/releases/{own.pk}/")
    deps = page.locator("#dependencies")
    deps.get_by_text("Add dependency", exact=True).first.click()
    expect(deps.locator("input[name=depends_on]")).to_have_count(10)
    expect(deps.get_by_label("Indexer 7.0 (Search, 3 Sep 2031)")).to_have_count(0)

    deps.get_by_label("Find the release").press_sequentially("index", delay=30)
    choice = deps.get_by_label("Indexer 7.0 (Search, 3 Sep 2031)")
    expect(choice).to_be_visible()
    expect(deps.locator("input[name=depends_on]")).to_have_count(1)
    expect(deps.locator("#dependency_matches_status")).to_have_text("Releases matching “index”.")
    assert "dependency_q" not in page.url  # found without reloading the page

    choice.check()
    deps.get_by_role("button", name="Add dependency").click()
    expect(page.locator("#dependencies")).to_contain_text("Needs shipped first:")
    expect(page.locator("#dependencies .deps__list")).to_contain_text("Indexer 7.0")


def test_the_search_says_when_nothing_matches(open_page, manager, crowded):
    own, _ = crowded
    page = open_page()
    log_in(page, "manager", PASSWORD)
    page.goto(f"/releases/{own.pk}/")
    deps = page.locator("#dependencies")
    deps.get_by_text("Add dependency", exact=True).first.click()
    deps.get_by_label("Find the release").fill("nothing like it")
    expect(deps.locator("#dependency_matches_status")).to_have_text(
        "No release still to ship matches “nothing like it”."
    )
    expect(deps.locator("input[name=depends_on]")).to_have_count(0)


def test_without_javascript_the_search_reloads_the_page_with_the_matches(
    open_page, manager, crowded
):
    own, _ = crowded
    page = open_page(java_script_enabled=False)
    log_in(page, "manager", PASSWORD)
    page.goto(f"/releases/{own.pk}/")
    deps = page.locator("#dependencies")
    deps.get_by_text("Add dependency", exact=True).first.click()
    deps.get_by_label("Find the release").fill("index")
    deps.get_by_role("button", name="Search").click()
    page.wait_for_url("**dependency_q=index**")
    deps.get_by_label("Indexer 7.0 (Search, 3 Sep 2031)").check()
    deps.get_by_role("button", name="Add dependency").click()
    expect(page.locator("#dependencies .deps__list")).to_contain_text("Indexer 7.0")
