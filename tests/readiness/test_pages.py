"""The go/no-go board and the Readiness panel of the release page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from releases import services
from releases.models import Release, Team

BOARD = reverse("releases:readiness")


@pytest.fixture
def tomorrow():
    return (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)


def test_the_board_lists_releases_going_live_with_their_verdict(
    client, alice, make_release, manager, candidate, check, policy, tomorrow
):
    release = make_release(go_live=tomorrow)
    services.release_transition(actor=manager, release=release, to_state="planned")
    build = candidate(release)
    check(build, "integration-tests", "failed", url="https://ci.example.com/run/4")
    make_release(go_live=tomorrow + timedelta(days=30))  # beyond the 14 days shown
    client.force_login(alice)
    page = client.get(BOARD).content.decode()
    assert release.name in page
    assert "1 release going live in the next 14 days" in page
    assert 'data-verdict="NO-GO"' in page
    assert f"integration-tests failed on {build.version}" in page
    assert 'href="https://ci.example.com/run/4"' in page
    assert "Failed" in page and "Pending" in page  # the state in words, not only in colour


def test_the_board_filters_by_team_and_range(
    client, alice, manager, make_release, search, tomorrow
):
    for release in (
        make_release(go_live=tomorrow, name="Payments 9"),
        make_release(go_live=tomorrow, team=search, name="Search 9"),
        make_release(go_live=tomorrow + timedelta(days=20), name="Payments later"),
        make_release(go_live=tomorrow, name="Draft only"),
    )[:3]:
        services.release_transition(actor=manager, release=release, to_state="planned")
    client.force_login(alice)
    page = client.get(BOARD, {"team": "search"}).content.decode()
    assert "Search 9" in page and "Payments 9" not in page
    page = client.get(BOARD, {"days": "30"}).content.decode()
    assert "Payments later" in page
    page = client.get(BOARD, {"days": "9999", "team": "nope"}).content.decode()  # ignored
    assert "Payments 9" in page and "Payments later" not in page
    assert "Draft only" not in page  # drafts are not planned yet: not on the board


def test_the_board_leaves_out_releases_the_reader_may_not_see(
    client, outsider, make_release, tomorrow
):
    private = Team.objects.create(name="Skunkworks", slug="skunk", is_private=True)
    Release.objects.filter(
        pk=make_release(go_live=tomorrow, team=private, name="Secret 1").pk
    ).update(state="testing")
    client.force_login(outsider)
    page = client.get(BOARD).content.decode()
    assert "Secret 1" not in page and "Skunkworks" not in page
    assert "Nothing goes live in the next 14 days" in page


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(BOARD)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["manager", "alice"])
def test_the_board_costs_the_same_for_5_and_60_releases(
    client, manager, payments, search, tomorrow, policy, persona, request
):
    client.force_login(request.getfixturevalue(persona))

    def add(count, start):
        Release.objects.bulk_create(
            Release(
                name=f"Bulk {n}",
                version=f"b{n}",
                team=(payments, search)[n % 2],
                manager=manager,
                go_live=tomorrow + timedelta(hours=n),
                state="testing",
            )
            for n in range(start, start + count)
        )

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(BOARD).status_code == 200
        return len(ctx.captured_queries)

    def link(start, count):
        # Each release needs the one before it shipped first: a name per prerequisite, which
        # a reader who may not see every team must be allowed to see.
        releases = list(Release.objects.order_by("id"))[start : start + count]
        for release, previous in zip(releases[1:], releases, strict=False):
            services.dependency_create(actor=manager, release=release, depends_on=previous)

    add(5, 0)
    link(0, 5)
    few = queries()
    add(55, 5)
    link(5, 55)
    assert queries() == few


def test_the_release_page_shows_readiness_and_the_current_build(
    client, alice, make_release, candidate, check, policy
):
    release = make_release()
    build = candidate(release)
    check(build, "unit-tests", "passed", summary="412 passed")
    client.force_login(alice)
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'id="readiness"' in page
    assert "PENDING" in page
    assert build.version in page and build.short_digest in page
    assert "412 passed" in page
    assert f"integration-tests not reported on {build.version}" in page
