"""A private team's bookings (issue 15, finding 10): to readers outside the team the slot is
taken by "A private team", for "Booked"; the team's name, the purpose, the release and the
booker are never shown, in the API, on pages or in feeds. Members, release managers see it all.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calendars import tokens
from environments.models import Booking
from releases import roles
from releases.models import Team
from tests.conftest import PASSWORD
from tests.environments.conftest import HOUR

SECRETS = ("Mobile", "Secret launch", "mia")
BOOKINGS = "/api/v1/bookings/"


@pytest.fixture
def mobile(db) -> Team:
    return Team.objects.create(name="Mobile", slug="mobile", color="#1971c2", is_private=True)


@pytest.fixture
def mia(mobile) -> User:
    user = User.objects.create_user("mia", "mia@example.com", PASSWORD)
    user.groups.add(Group.objects.get(name=roles.TEAM_MEMBERS))
    mobile.members.add(user)
    return user


@pytest.fixture
def secret(book, mia, mobile):
    """Mobile holds staging for ``[soon, soon + 2h)``."""
    return book(0, 2, actor=mia, team=mobile, purpose="Secret launch rehearsal")


def assert_concealed(text: str) -> None:
    for word in SECRETS:
        assert word not in text, word


def test_the_api_shows_the_slot_but_not_who_or_why(api, bob, secret):
    response = api.as_user(bob).get(BOOKINGS)
    assert response.status_code == 200
    [row] = response.data["results"]
    assert row["id"] == secret.pk
    assert row["team"] == "private"
    assert row["team_name"] == "A private team"
    assert row["purpose"] == "Booked"
    assert row["booked_by"] is None
    assert_concealed(response.content.decode())


def test_the_api_detail_is_concealed_too(api, outsider, secret):
    response = api.as_user(outsider).get(f"{BOOKINGS}{secret.pk}/")
    assert response.status_code == 200
    assert_concealed(response.content.decode())


@pytest.mark.parametrize("who", ["mia", "manager"])
def test_members_and_release_managers_see_everything(api, secret, mia, manager, who):
    user = {"mia": mia, "manager": manager}[who]
    [row] = api.as_user(user).get(BOOKINGS).data["results"]
    assert (row["team"], row["purpose"], row["booked_by"]) == (
        "mobile",
        "Secret launch rehearsal",
        "mia",
    )


def test_filtering_by_a_private_team_finds_nothing(api, bob, secret, mia):
    assert api.as_user(bob).get(BOOKINGS, {"team": "mobile"}).data["count"] == 0
    assert api.as_user(mia).get(BOOKINGS, {"team": "mobile"}).data["count"] == 1


def test_availability_says_busy_without_naming_the_team(api, bob, secret, soon):
    response = api.as_user(bob).get(
        "/api/v1/environments/staging/availability/",
        {"start": soon.isoformat(), "end": (soon + 4 * HOUR).isoformat()},
    )
    assert response.status_code == 200
    [busy] = response.data["busy"]
    assert (busy["who"], busy["why"], busy["team"]) == ("A private team", "Booked", "private")
    assert_concealed(response.content.decode())


def test_a_conflict_does_not_name_the_private_holder(api, bob, search, secret, soon):
    response = api.as_user(bob).post(
        BOOKINGS,
        {
            "environment": "staging",
            "team": search.slug,
            "purpose": "Smoke test",
            "start": (soon + HOUR).isoformat(),
            "end": (soon + 3 * HOUR).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 409
    assert "a private team" in response.content.decode()
    assert_concealed(response.content.decode())


@pytest.mark.parametrize("page", ["detail", "timeline", "agenda"])
def test_pages_show_a_private_team_holding_the_slot(client, bob, secret, soon, page):
    url = {
        "detail": reverse("environments:detail", args=["staging"]),
        "timeline": f"{reverse('environments:timeline')}?from={soon:%Y-%m-%d}",
        "agenda": f"{reverse('calendar-agenda')}?start={soon:%Y-%m-%d}",
    }[page]
    client.force_login(bob)
    response = client.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert "A private team" in text
    assert_concealed(text)


def test_the_members_page_shows_the_purpose(client, mia, secret):
    client.force_login(mia)
    text = client.get(reverse("environments:detail", args=["staging"])).content.decode()
    assert "Secret launch rehearsal" in text


def test_a_feed_shows_the_slot_without_the_team(client, bob, secret):
    _, raw = tokens.feed_token_create(actor=bob, name="All", filters={})
    response = client.get(f"/feeds/{raw}.ics")
    assert response.status_code == 200
    text = response.content.decode()
    assert "A private team" in text
    assert_concealed(text)


def test_a_feed_filtered_on_the_private_team_is_empty(client, bob, secret):
    _, raw = tokens.feed_token_create(actor=bob, name="Mobile", filters={"teams": ["mobile"]})
    response = client.get(f"/feeds/{raw}.ics")
    assert response.status_code in (200, 400)
    assert b"BEGIN:VEVENT" not in response.content


def test_the_bookings_list_costs_the_same_queries_for_2_and_6(api, bob, book, mia, mobile):
    client = api.as_user(bob)
    counts = []
    for rows in (2, 6):
        while len(Booking.objects.all()) < rows:
            hour = 3 * len(Booking.objects.all())
            book(hour, hour + 1, actor=mia, team=mobile, purpose="Secret launch")
        client.get(BOOKINGS)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(BOOKINGS)
        assert response.data["count"] == rows
        assert_concealed(response.content.decode())
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
