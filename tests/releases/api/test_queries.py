"""Lists cost a fixed number of queries, whatever their length (no N+1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from releases import services


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 500})
    assert response.status_code == 200
    return len(queries)


def test_the_release_list_runs_the_same_queries_for_5_and_200_releases(
    api, make_release, manager, alice, payments, search, soon, django_assert_num_queries
):
    client = api.as_user(manager)

    def add(count):
        for number in range(count):
            # Mixed teams, managers and states, so every related summary field is exercised.
            release = make_release(
                team=search if number % 2 else payments,
                manager=alice if number % 3 else manager,
                go_live=soon + timedelta(hours=number),
            )
            if number % 4 == 0:
                services.release_transition(actor=manager, release=release, to_state="planned")

    add(5)
    for_five = count_queries(client, "/api/v1/releases/")
    add(195)

    with django_assert_num_queries(for_five):
        response = client.get("/api/v1/releases/", {"page_size": 500})
    assert response.data["count"] == 200
    assert len(response.data["results"]) == 200


@pytest.mark.parametrize(
    ("url", "make"),
    [
        ("/api/v1/teams/", "team"),
        ("/api/v1/milestones/", "milestone"),
        ("/api/v1/scope-items/", "scope_item"),
        ("/api/v1/dependencies/", "dependency"),
        ("/api/v1/freeze-windows/", "freeze"),
    ],
)
def test_every_other_list_runs_a_fixed_number_of_queries(
    api, admin, manager, alice, make_release, payments, soon, url, make
):
    client = api.as_user(manager)
    made = iter(range(10_000))

    def add_one():
        n = next(made)
        if make == "team":
            team = services.team_create(actor=admin, name=f"Team {n}", slug=f"team-{n}")
            team.members.add(alice, manager)
        elif make == "milestone":
            services.milestone_create(
                actor=manager, release=make_release(), kind="go_live", at=soon
            )
        elif make == "scope_item":
            services.scope_item_create(
                actor=manager, release=make_release(), title=f"Item {n}", owner=alice
            )
        elif make == "dependency":
            services.dependency_create(
                actor=manager, release=make_release(), depends_on=make_release()
            )
        else:
            services.freeze_window_create(
                actor=manager,
                name=f"Freeze {n}",
                team=payments if n % 2 else None,
                start=soon + timedelta(days=n),
                end=soon + timedelta(days=n, hours=1),
            )

    for _ in range(3):
        add_one()
    # Warm: the forced user object keeps its permission answers between requests.
    count_queries(client, url)
    few = count_queries(client, url)
    for _ in range(20):
        add_one()
    assert count_queries(client, url) == few
