"""Bookings through the API: the CI flow (acquire, run, release), booking a slot, conflicts that
name the holder and offer the next free slot, extend, release and cancel, and the list filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from environments.models import Booking

from ..conftest import HOUR
from .conftest import iso


def pipeline(user) -> APIClient:
    """A CI pipeline: no session, a token in the Authorization header."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def booking_body(soon, start=0, end=2, **extra) -> dict:
    body = {
        "environment": "staging",
        "team": "payments",
        "purpose": "Payments 4.3 regression tests",
        "start": iso(soon + start * HOUR),
        "end": iso(soon + end * HOUR),
    }
    return body | extra


def test_a_pipeline_acquires_qa_and_a_second_one_is_told_who_holds_it_until_when(
    alice, bob, payments, search, qa
):
    first = pipeline(alice).post(
        "/api/v1/environments/qa/acquire/",
        {"team": "payments", "minutes": 45, "purpose": "pipeline #812"},
        format="json",
    )
    assert first.status_code == 201, first.data
    held = first.data
    assert (held["environment"], held["team"], held["state"]) == ("qa", "payments", "active")
    assert held["booked_by"] == "alice"
    start, end = parse_datetime(held["start"]), parse_datetime(held["end"])
    assert end - start == timedelta(minutes=45)
    assert abs(start - timezone.now()) < timedelta(seconds=5)

    second = pipeline(bob).post(
        "/api/v1/environments/qa/acquire/",
        {"team": "search", "minutes": 10, "purpose": "pipeline #9"},
        format="json",
    )
    assert second.status_code == 409
    detail = second.data["detail"]
    assert detail.startswith("qa is booked by Payments for “pipeline #812” from ")
    assert f"until {timezone.localtime(end):%H:%M}" in detail
    assert second.data["conflict"]["id"] == held["id"]
    assert second.data["conflict"]["team"] == "payments"
    assert second.data["suggested"]["start"] == end
    assert Booking.objects.filter(team=search).count() == 0

    released = pipeline(alice).post(f"/api/v1/bookings/{held['id']}/release/")
    assert released.status_code == 200, released.data
    assert released.data["state"] == "released_early"
    assert parse_datetime(released.data["end"]) <= timezone.now()

    third = pipeline(bob).post(
        "/api/v1/environments/qa/acquire/",
        {"team": "search", "minutes": 10, "purpose": "pipeline #9"},
        format="json",
    )
    assert third.status_code == 201, third.data


def test_it_books_a_slot_and_reads_it_back(as_user, alice, staging, soon):
    client = as_user(alice)
    response = client.post("/api/v1/bookings/", booking_body(soon), format="json")
    assert response.status_code == 201, response.data
    booking = Booking.objects.get()
    assert response.data["id"] == booking.pk
    assert response.data["state"] == "confirmed"
    assert response.data["team_name"] == "Payments"
    assert response.data["team_color"] == "#d9480f"
    assert (booking.start, booking.end) == (soon, soon + 2 * HOUR)
    assert booking.booked_by == alice

    again = client.get(f"/api/v1/bookings/{booking.pk}/")
    assert again.status_code == 200
    assert again.data == response.data


def test_a_taken_slot_is_a_409_naming_the_booking_and_the_next_free_slot(
    as_user, alice, bob, search, book, soon, stored
):
    book(0, 2, actor=bob, team=search, purpose="Load test")
    before = stored()
    response = as_user(alice).post("/api/v1/bookings/", booking_body(soon, 1, 3), format="json")
    assert response.status_code == 409
    assert response.data["detail"].startswith("staging is booked by Search for “Load test” from ")
    assert response.data["conflict"]["team"] == "search"
    assert response.data["conflict"]["purpose"] == "Load test"
    assert response.data["suggested"] == {"start": soon + 2 * HOUR, "end": soon + 4 * HOUR}
    assert stored() == before


def test_touching_bookings_are_both_accepted(as_user, alice, bob, search, book, soon):
    book(0, 2, actor=bob, team=search)
    response = as_user(alice).post("/api/v1/bookings/", booking_body(soon, 2, 3), format="json")
    assert response.status_code == 201, response.data


def test_extend_moves_the_end_and_refuses_to_run_into_the_next_booking(
    as_user, alice, bob, search, book, soon, stored
):
    mine = book(0, 1)
    book(3, 4, actor=bob, team=search, purpose="Load test")
    client = as_user(alice)

    longer = client.post(
        f"/api/v1/bookings/{mine.pk}/extend/", {"end": iso(soon + 2 * HOUR)}, format="json"
    )
    assert longer.status_code == 200, longer.data
    assert parse_datetime(longer.data["end"]) == soon + 2 * HOUR

    before = stored()
    clash = client.post(
        f"/api/v1/bookings/{mine.pk}/extend/", {"end": iso(soon + 5 * HOUR)}, format="json"
    )
    assert clash.status_code == 409
    assert "Load test" in clash.data["detail"]
    assert "can be extended until" in clash.data["detail"]
    assert clash.data["conflict"]["team"] == "search"
    assert clash.data["suggested"]["end"] == soon + 3 * HOUR
    assert stored() == before

    shorter = client.post(
        f"/api/v1/bookings/{mine.pk}/extend/", {"end": iso(soon + 30 * HOUR / 60)}, format="json"
    )
    assert shorter.status_code == 200
    assert Booking.objects.get(pk=mine.pk).end == soon + timedelta(minutes=30)


def test_cancel_frees_the_slot_once(as_user, alice, book, soon):
    booking = book(0, 1)
    client = as_user(alice)
    response = client.post(f"/api/v1/bookings/{booking.pk}/cancel/")
    assert response.status_code == 200
    assert response.data["state"] == "cancelled"
    assert response.data["ended_at"] is not None

    twice = client.post(f"/api/v1/bookings/{booking.pk}/cancel/")
    assert twice.status_code == 409  # its state, not the request, is what is wrong
    assert twice.data["state"] == "cancelled"
    assert "only confirmed or active bookings can change" in twice.data["detail"]
    # The slot is free again.
    assert client.post("/api/v1/bookings/", booking_body(soon, 0, 1)).status_code == 201


def test_releasing_a_booking_that_has_not_started_cancels_it(as_user, alice, book):
    booking = book(0, 1)
    response = as_user(alice).post(f"/api/v1/bookings/{booking.pk}/release/")
    assert response.status_code == 200
    assert response.data["state"] == "cancelled"


@pytest.fixture
def bookings(book, bob, search, qa, manager, soon):
    """Alice's on staging, Bob's on staging (later) and on qa, and a cancelled one."""
    return {
        "alice": book(0, 1),
        "bob_staging": book(2, 3, actor=bob, team=search),
        "bob_qa": book(0, 1, actor=bob, team=search, environment=qa),
        "cancelled": book(5, 6),
    }


def ids(response) -> set[int]:
    assert response.status_code == 200, response.data
    return {row["id"] for row in response.data["results"]}


def test_the_list_filters_by_environment_team_state_mine_and_range(as_user, alice, bookings, soon):
    from environments import services

    services.booking_cancel(actor=alice, booking=bookings["cancelled"])
    client = as_user(alice)
    every = {b.pk for b in bookings.values()}
    assert ids(client.get("/api/v1/bookings/")) == every
    assert ids(client.get("/api/v1/bookings/", {"environment": "qa"})) == {bookings["bob_qa"].pk}
    assert ids(client.get("/api/v1/bookings/", {"team": "search"})) == {
        bookings["bob_staging"].pk,
        bookings["bob_qa"].pk,
    }
    assert ids(client.get("/api/v1/bookings/", {"team": "search,payments"})) == every
    assert ids(client.get("/api/v1/bookings/", {"state": "cancelled"})) == {
        bookings["cancelled"].pk
    }
    assert ids(client.get("/api/v1/bookings/", {"mine": "true"})) == {
        bookings["alice"].pk,
        bookings["cancelled"].pk,
    }
    # Overlapping [soon + 30 min, soon + 2 h): touching Bob's staging booking at 2 h is out.
    in_range = client.get(
        "/api/v1/bookings/",
        {"start": iso(soon + HOUR / 2), "end": iso(soon + 2 * HOUR), "environment": "staging"},
    )
    assert ids(in_range) == {bookings["alice"].pk}


def test_the_list_refuses_an_unknown_state(as_user, alice):
    response = as_user(alice).get("/api/v1/bookings/", {"state": "held"})
    assert response.status_code == 400
    assert "state" in response.data
