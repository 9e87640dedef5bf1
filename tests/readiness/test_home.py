"""Home: what needs the signed-in person now, each item linking to where it is acted on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments import services as environment_services
from environments.models import Environment
from releases import services
from releases.models import Release, Team

HOUR = timedelta(hours=1)


@pytest.fixture
def tomorrow():
    return (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)


def home(client, user) -> str:
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_approver_sees_the_sign_offs_waiting_with_a_link_to_sign(client, frozen, priya):
    release = frozen()
    page = home(client, priya)
    assert "Sign-offs waiting for you" in page
    assert f"/admin/approvals/signoff/sign/{release.pk}/?role=product" in page


def test_the_manager_sees_releases_this_week_that_are_not_go(
    client, manager, make_release, tomorrow, candidate, check, policy
):
    release = make_release(go_live=tomorrow)
    services.release_transition(actor=manager, release=release, to_state="planned")
    build = candidate(release)
    check(build, "unit-tests", "failed")
    page = home(client, manager)
    assert "Your releases this week that are not GO" in page
    assert f"{release.get_absolute_url()}#readiness" in page
    assert f"Required checks: unit-tests failed on {build.version}" in page


def test_a_team_member_sees_failed_checks_and_the_team_bookings(
    client, alice, make_release, manager, tomorrow, candidate, check
):
    release = make_release(go_live=tomorrow + timedelta(days=3))
    services.release_transition(actor=manager, release=release, to_state="planned")
    check(candidate(release), "security-scan", "failed", url="https://ci.example.com/s/1")
    staging = Environment.objects.create(name="Staging", slug="staging", kind="staging")
    start = timezone.now() + HOUR
    environment_services.booking_create(
        actor=alice, environment=staging, team=release.team, start=start, end=start + HOUR,
        purpose="Smoke tests",
    )  # fmt: skip
    page = home(client, alice)
    assert "Failed checks on your teams' builds" in page
    assert 'href="https://ci.example.com/s/1"' in page
    assert "Your teams' bookings today and tomorrow" in page
    assert "Smoke tests" in page


def test_freezes_starting_this_week_are_listed(client, manager, tomorrow):
    services.freeze_window_create(
        actor=manager, name="Black Friday", start=tomorrow, end=tomorrow + 24 * HOUR
    )
    assert "Black Friday" in home(client, manager)


def test_an_outsider_is_told_nothing_needs_them_and_sees_no_private_release(
    client, outsider, make_release, tomorrow, manager
):
    private = Team.objects.create(name="Skunkworks", slug="skunk", is_private=True)
    secret = make_release(go_live=tomorrow, team=private, name="Secret 2")
    Release.objects.filter(pk=secret.pk).update(state="testing")
    page = home(client, outsider)
    assert "Nothing needs you right now" in page
    assert "Secret 2" not in page and "Skunkworks" not in page


def test_home_costs_the_same_with_few_or_many_items(
    client, manager, payments, tomorrow, candidate, check, policy
):
    client.force_login(manager)

    def add(count, start):
        for n in range(start, start + count):
            release = Release.objects.create(
                name=f"Bulk {n}", version=f"b{n}", team=payments, manager=manager,
                go_live=tomorrow + n * HOUR, state="testing",
            )  # fmt: skip
            check(candidate(release), "unit-tests", "failed")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/").status_code == 200
        return len(ctx.captured_queries)

    add(2, 0)
    few = queries()
    add(12, 2)
    assert queries() == few
