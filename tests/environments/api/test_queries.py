"""Every list of the environments API runs the same number of queries for 5 rows as for 50."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from environments import services
from environments.models import Environment

from ..conftest import HOUR


def fresh(as_user, user):
    """A client for a fresh copy of ``user``: permissions and roles cached on the instance by an
    earlier request would otherwise make a later one look cheaper than a real request is."""
    return as_user(type(user).objects.get(pk=user.pk))


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 500})
    assert response.status_code == 200, response.data
    return len(queries)


@pytest.fixture
def add(alice, bob, manager, payments, search, make_release, soon):
    """``add(kind, count)`` makes ``count`` more rows of a kind, mixing teams, people and
    releases so that every related field of the list is exercised."""
    numbers = itertools.count()
    releases = [make_release(), make_release(team=search)]

    def environment(n: int) -> Environment:
        return Environment.objects.create(
            name=f"env {n}", slug=f"env-{n}", kind="test", owner_team=search if n % 2 else None
        )

    def make(kind: str, count: int) -> None:
        for _ in range(count):
            n = next(numbers)
            env = environment(n)
            actor, team = (alice, payments) if n % 2 else (bob, search)
            slot = {"start": soon + n * HOUR, "end": soon + (n + 1) * HOUR}
            if kind == "environment":
                services.deployment_report(
                    actor=actor, environment=env, version=f"{n}", release=releases[n % 2]
                )
            elif kind == "booking":
                services.booking_create(
                    actor=manager if n % 3 == 0 else actor,
                    environment=env,
                    team=team,
                    release=releases[n % 2] if n % 4 else None,
                    purpose=f"run {n}",
                    **slot,
                )
            elif kind == "waitlist":
                services.booking_create(
                    actor=bob, environment=env, team=search, purpose="held", **slot
                )
                services.waitlist_join(
                    actor=alice, environment=env, team=payments, purpose=f"wait {n}", **slot
                )
            elif kind == "maintenance":
                services.maintenance_window_create(
                    actor=manager, environment=env, reason=f"m {n}", **slot
                )
            else:
                services.deployment_report(
                    actor=actor, environment=env, version=f"{n}", release=releases[n % 2]
                )

    return make


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("environment", "/api/v1/environments/"),
        ("booking", "/api/v1/bookings/"),
        ("waitlist", "/api/v1/waitlist/"),
        ("maintenance", "/api/v1/maintenance-windows/"),
        ("deployment", "/api/v1/deployments/"),
    ],
)
@pytest.mark.parametrize("persona", ["outsider", "alice"])
def test_each_list_runs_a_fixed_number_of_queries(
    as_user, add, kind, url, persona, request, django_assert_num_queries
):
    # The outsider's lists hide private releases: the visibility check must not add queries.
    user = request.getfixturevalue(persona)
    add(kind, 5)
    for_five = count_queries(fresh(as_user, user), url)
    add(kind, 45)
    client = fresh(as_user, user)
    with django_assert_num_queries(for_five):
        response = client.get(url, {"page_size": 500})
    assert response.data["count"] >= 50


def test_the_booking_list_with_every_filter_runs_a_fixed_number_of_queries(
    as_user, add, alice, soon
):
    url = (
        f"/api/v1/bookings/?mine=true&state=confirmed&team=payments,search"
        f"&start={(soon - HOUR).isoformat().replace('+', '%2B')}"
    )
    add("booking", 5)
    for_five = count_queries(fresh(as_user, alice), url)
    add("booking", 45)
    assert count_queries(fresh(as_user, alice), url) == for_five
