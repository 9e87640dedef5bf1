"""Who may do what through the environments API. Anyone signed in reads (the calendar is shared);
writes follow the services: an outsider (no team, no role) is refused on every write endpoint
and nothing changes; anonymous clients get nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from environments import services
from environments.models import Booking

from ..conftest import HOUR
from .conftest import iso


@pytest.fixture
def world(book, bob, search, staging, soon):
    """A booking of Alice's, a waitlist entry and a maintenance window of Search's."""
    mine = book(0, 2)
    return {
        "booking": mine,
        "entry": services.waitlist_join(
            actor=bob,
            environment=staging,
            team=search,
            start=soon,
            end=soon + HOUR,
            purpose="Load test",
        ),
        "window": services.maintenance_window_create(
            actor=bob,
            environment=staging,
            start=soon + 8 * HOUR,
            end=soon + 9 * HOUR,
            reason="DB",
        ),
    }


SLOT = {"environment": "staging", "team": "payments", "purpose": "x"}

# Every write endpoint as ``(method, url, body)`` of the ``world`` fixture and ``soon``, each with
# a body a member of the right team would get accepted.
WRITES = {
    "booking-create": lambda w, soon: (
        "post",
        "/api/v1/bookings/",
        SLOT | {"start": iso(soon + 3 * HOUR), "end": iso(soon + 4 * HOUR)},
    ),
    "acquire": lambda w, soon: (
        "post",
        "/api/v1/environments/qa/acquire/",
        {"team": "payments", "minutes": 5, "purpose": "x"},
    ),
    "booking-extend": lambda w, soon: (
        "post",
        f"/api/v1/bookings/{w['booking'].pk}/extend/",
        {"end": iso(soon + 3 * HOUR)},
    ),
    "booking-release": lambda w, soon: (
        "post",
        f"/api/v1/bookings/{w['booking'].pk}/release/",
        None,
    ),
    "booking-cancel": lambda w, soon: ("post", f"/api/v1/bookings/{w['booking'].pk}/cancel/", None),
    "waitlist-join": lambda w, soon: (
        "post",
        "/api/v1/waitlist/",
        SLOT | {"start": iso(soon), "end": iso(soon + HOUR)},
    ),
    "waitlist-withdraw": lambda w, soon: (
        "post",
        f"/api/v1/waitlist/{w['entry'].pk}/withdraw/",
        None,
    ),
    "environment-update": lambda w, soon: (
        "patch",
        "/api/v1/environments/staging/",
        {"max_booking_minutes": 60},
    ),
    "maintenance-create": lambda w, soon: (
        "post",
        "/api/v1/maintenance-windows/",
        {
            "environment": "staging",
            "start": iso(soon + 10 * HOUR),
            "end": iso(soon + 11 * HOUR),
            "reason": "x",
        },
    ),
    "maintenance-delete": lambda w, soon: (
        "delete",
        f"/api/v1/maintenance-windows/{w['window'].pk}/",
        None,
    ),
    "deployment-report": lambda w, soon: (
        "post",
        "/api/v1/deployments/",
        {"environment": "staging", "version": "1.0"},
    ),
}


READS = {
    "environments": "/api/v1/environments/",
    "environment": "/api/v1/environments/staging/",
    "availability": "/api/v1/environments/staging/availability/",
    "bookings": "/api/v1/bookings/",
    "waitlist": "/api/v1/waitlist/",
    "maintenance-windows": "/api/v1/maintenance-windows/",
    "deployments": "/api/v1/deployments/",
}


@pytest.mark.parametrize("write", list(WRITES))
def test_an_outsider_is_refused_on_every_write_and_nothing_changes(
    as_user, outsider, world, qa, soon, stored, write
):
    client = as_user(outsider)
    before = stored()
    method, url, data = WRITES[write](world, soon)
    response = getattr(client, method)(url, data, format="json")
    assert response.status_code == 403, (method, url, response.status_code, response.data)
    assert stored() == before


@pytest.mark.parametrize("url", list(READS.values()), ids=list(READS))
def test_an_outsider_reads_everything_a_team_member_reads(as_user, outsider, world, url):
    response = as_user(outsider).get(url)
    assert response.status_code == 200, url


def test_an_outsider_reads_another_team_s_booking(as_user, outsider, world):
    booking = world["booking"]
    assert as_user(outsider).get(f"/api/v1/bookings/{booking.pk}/").data["team"] == "payments"


@pytest.mark.parametrize("url", list(READS.values()), ids=list(READS))
def test_anonymous_clients_get_401_on_every_read(world, qa, url):
    assert APIClient().get(url).status_code == 401, url


@pytest.mark.parametrize("write", list(WRITES))
def test_anonymous_clients_get_401_on_every_write(world, qa, soon, write):
    method, url, data = WRITES[write](world, soon)
    response = getattr(APIClient(), method)(url, data, format="json")
    assert response.status_code == 401, url


def test_a_team_member_may_not_change_another_team_s_booking(as_user, bob, alice, book, qa, search):
    theirs = book(0, 1, actor=bob, team=search, environment=qa)
    for action in ("release", "cancel"):
        response = as_user(alice).post(f"/api/v1/bookings/{theirs.pk}/{action}/")
        assert response.status_code == 403
        assert "Only members of Search" in response.data["detail"]
    assert Booking.objects.get(pk=theirs.pk).state == "confirmed"


def test_the_environment_s_owners_may_cancel_any_booking_of_it(as_user, bob, world):
    # Search owns staging: Bob may call off Alice's booking there (e.g. for an incident).
    response = as_user(bob).post(f"/api/v1/bookings/{world['booking'].pk}/cancel/")
    assert response.status_code == 200
    assert response.data["state"] == "cancelled"


@pytest.mark.parametrize("persona", ["manager", "admin"])
def test_release_managers_book_for_any_team(as_user, staging, search, soon, persona, request):
    user = request.getfixturevalue(persona)
    response = as_user(user).post(
        "/api/v1/bookings/",
        {
            "environment": "staging",
            "team": "search",
            "purpose": "x",
            "start": iso(soon),
            "end": iso(soon + HOUR),
        },
        format="json",
    )
    assert response.status_code == 201, response.data


def test_a_private_team_s_release_is_not_named_to_outsiders(
    as_user, outsider, alice, payments, make_release, staging, soon
):
    payments.is_private = True
    payments.save()
    release = make_release(name="Secret 1.0")
    services.booking_create(
        actor=alice, environment=staging, team=payments, release=release, purpose="x",
        start=soon, end=soon + HOUR,
    )  # fmt: skip
    services.deployment_report(actor=alice, environment=staging, version="1.0", release=release)

    def shown(client) -> list:
        booking = client.get("/api/v1/bookings/").data["results"][0]
        deployment = client.get("/api/v1/deployments/").data["results"][0]
        current = client.get("/api/v1/environments/staging/").data["current_deployment"]
        return [
            booking["release"],
            booking["release_name"],
            deployment["release"],
            deployment["release_name"],
            current["release"],
            current["release_name"],
        ]

    assert shown(as_user(outsider)) == [None] * 6
    assert shown(as_user(alice)) == [release.pk, "Secret 1.0"] * 3
