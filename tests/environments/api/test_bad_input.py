"""The issue's bad-input list through the API: each a clear 400, 403, 404 or 409, and nothing
stored."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from environments import services

from ..conftest import HOUR, set_rules
from .conftest import iso

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def client(as_user, alice):
    return as_user(alice)


def body(soon, start=0, end=1, **extra) -> dict:
    data = {
        "environment": "staging",
        "team": "payments",
        "purpose": "Regression",
        "start": iso(soon + start * HOUR) if isinstance(start, int | float) else start,
        "end": iso(soon + end * HOUR) if isinstance(end, int | float) else end,
    }
    return data | extra


def refused(response, status: int, field: str, fragment: str, stored, before) -> None:
    assert response.status_code == status, response.data
    messages = response.data[field] if field != "detail" else [response.data["detail"]]
    assert fragment in " ".join(str(m) for m in messages), response.data
    assert stored() == before


def test_it_refuses_an_end_before_the_start(client, staging, soon, stored):
    before = stored()
    response = client.post("/api/v1/bookings/", body(soon, 2, 1), format="json")
    refused(response, 400, "end", "must end after it starts", stored, before)


def test_it_refuses_a_zero_length_booking(client, staging, soon, stored):
    before = stored()
    response = client.post("/api/v1/bookings/", body(soon, 1, 1), format="json")
    refused(response, 400, "end", "must end after it starts", stored, before)


def test_it_refuses_a_booking_longer_than_the_environment_allows(client, staging, soon, stored):
    set_rules(staging, max_booking_minutes=120)
    before = stored()
    response = client.post("/api/v1/bookings/", body(soon, 0, 3), format="json")
    refused(response, 400, "end", "at most 2 h at a time; this booking lasts 3 h", stored, before)


def test_it_refuses_an_acquire_longer_than_the_environment_allows(client, staging, stored):
    set_rules(staging, max_booking_minutes=30)
    before = stored()
    response = client.post(
        "/api/v1/environments/staging/acquire/",
        {"team": "payments", "minutes": 45, "purpose": "CI"},
        format="json",
    )
    refused(response, 400, "minutes", "at most 30 min", stored, before)


def test_it_refuses_a_booking_in_the_past(client, staging, stored):
    yesterday = timezone.now() - timedelta(days=1)
    before = stored()
    response = client.post(
        "/api/v1/bookings/",
        body(yesterday, start=iso(yesterday), end=iso(yesterday + HOUR)),
        format="json",
    )
    refused(response, 400, "start", "is in the past", stored, before)


def test_it_refuses_a_booking_without_the_minimum_notice(client, staging, stored):
    set_rules(staging, min_notice_minutes=24 * 60)
    soon = timezone.now() + HOUR
    before = stored()
    response = client.post("/api/v1/bookings/", body(soon), format="json")
    refused(response, 400, "start", "must be booked 24 h ahead", stored, before)


def test_it_refuses_a_booking_in_maintenance(client, bob, staging, soon, stored):
    services.maintenance_window_create(
        actor=bob, environment=staging, start=soon + HOUR, end=soon + 2 * HOUR, reason="DB"
    )
    before = stored()
    response = client.post("/api/v1/bookings/", body(soon, 0, 3), format="json")
    refused(response, 400, "start", "down for maintenance", stored, before)


def test_it_refuses_an_extension_into_maintenance(client, bob, book, staging, soon, stored):
    booking = book(0, 1)
    services.maintenance_window_create(
        actor=bob, environment=staging, start=soon + 2 * HOUR, end=soon + 3 * HOUR, reason="DB"
    )
    before = stored()
    response = client.post(
        f"/api/v1/bookings/{booking.pk}/extend/", {"end": iso(soon + 3 * HOUR)}, format="json"
    )
    refused(response, 400, "end", "down for maintenance", stored, before)


@pytest.mark.parametrize("field", ["start", "end"])
def test_it_refuses_naive_datetimes(client, staging, soon, stored, field):
    naive = (soon + HOUR / 2).replace(tzinfo=None).isoformat()
    before = stored()
    response = client.post("/api/v1/bookings/", body(soon, **{field: naive}), format="json")
    refused(response, 400, field, "Include a UTC offset", stored, before)


def test_it_refuses_a_naive_new_end(client, book, soon, stored):
    booking = book(0, 1)
    before = stored()
    response = client.post(
        f"/api/v1/bookings/{booking.pk}/extend/",
        {"end": (soon + 2 * HOUR).replace(tzinfo=None).isoformat()},
        format="json",
    )
    refused(response, 400, "end", "Include a UTC offset", stored, before)


def _next_dst_change(month: int) -> date:
    """The next last Sunday of ``month`` (Europe's DST changes) at least two days ahead."""
    today = timezone.now().date()
    for year in range(today.year, today.year + 3):
        day = date(year, month, 31)
        day -= timedelta(days=(day.weekday() + 1) % 7)
        if day > today + timedelta(days=2):
            return day
    raise AssertionError("unreachable")


def test_lengths_across_the_spring_dst_change_are_elapsed_time(client, staging, stored, settings):
    # 01:00 to 04:00 in Berlin on the spring-forward night is two real hours (02:00-03:00 does
    # not exist): within a 2-hour limit, although the clocks say three.
    settings.TIME_ZONE = "Europe/Berlin"
    set_rules(staging, max_booking_minutes=120)
    day = _next_dst_change(3)
    start = datetime.combine(day, time(1), BERLIN)
    end = datetime.combine(day, time(4), BERLIN)
    assert end.utcoffset() - start.utcoffset() == HOUR
    response = client.post(
        "/api/v1/bookings/", body(start, start=iso(start), end=iso(end)), format="json"
    )
    assert response.status_code == 201, response.data
    assert response.data["end"] == iso(end)  # shown in the viewer's zone, with its offset


def test_lengths_across_the_autumn_dst_change_are_elapsed_time(client, staging, stored, settings):
    # 01:00 to 03:00 in Berlin on the fall-back night is three real hours: over a 2-hour limit,
    # although the clocks say two.
    settings.TIME_ZONE = "Europe/Berlin"
    set_rules(staging, max_booking_minutes=120)
    day = _next_dst_change(10)
    start = datetime.combine(day, time(1), BERLIN)
    end = datetime.combine(day, time(3), BERLIN)
    before = stored()
    response = client.post(
        "/api/v1/bookings/", body(start, start=iso(start), end=iso(end)), format="json"
    )
    refused(response, 400, "end", "this booking lasts 3 h", stored, before)


def test_an_unknown_environment_is_named_in_a_body_and_404_in_a_path(client, staging, soon, stored):
    before = stored()
    response = client.post("/api/v1/bookings/", body(soon, environment="nope"), format="json")
    refused(response, 400, "environment", "does not exist", stored, before)
    acquire = client.post(
        "/api/v1/environments/nope/acquire/",
        {"team": "payments", "minutes": 5, "purpose": "CI"},
        format="json",
    )
    assert acquire.status_code == 404
    assert stored() == before


def test_a_booking_for_a_team_the_user_is_not_in_is_403(client, staging, search, soon, stored):
    before = stored()
    response = client.post("/api/v1/bookings/", body(soon, team="search"), format="json")
    refused(response, 403, "detail", "Only members of Search", stored, before)
    acquire = client.post(
        "/api/v1/environments/staging/acquire/",
        {"team": "search", "minutes": 5, "purpose": "CI"},
        format="json",
    )
    refused(acquire, 403, "detail", "Only members of Search", stored, before)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": "soon"}, "minutes"),
        ({"minutes": 10**9}, "minutes"),
        ({"purpose": ""}, "purpose"),
        ({"purpose": "x" * 201}, "purpose"),
        ({"purpose": "CI\x00"}, "purpose"),
        ({"team": "nope"}, "team"),
        ({"release": 999_999}, "release"),
    ],
)
def test_acquire_refuses_bad_input_naming_the_field(client, staging, stored, data, field):
    before = stored()
    response = client.post(
        "/api/v1/environments/staging/acquire/",
        {"team": "payments", "minutes": 30, "purpose": "CI"} | data,
        format="json",
    )
    assert response.status_code == 400, response.data
    assert field in response.data
    assert stored() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"purpose": "Regression\x00"}, "purpose"),
        ({"start": "tomorrow"}, "start"),
        ({"start": "9999-12-31T23:00:00-05:00"}, "start"),
        ({"team": ""}, "team"),
        ({"environment": None}, "environment"),
    ],
)
def test_booking_create_refuses_hostile_input_naming_the_field(
    client, staging, soon, stored, data, field
):
    before = stored()
    response = client.post("/api/v1/bookings/", body(soon) | data, format="json")
    assert response.status_code == 400, response.data
    assert field in response.data
    assert stored() == before


def test_a_release_the_user_may_not_see_is_not_found(
    client, make_release, staging, soon, stored, search
):
    search.is_private = True
    search.save()
    hidden = make_release(team=search)
    before = stored()
    response = client.post("/api/v1/bookings/", body(soon, release=hidden.pk), format="json")
    refused(response, 400, "release", "does not exist", stored, before)


@pytest.mark.parametrize("url", ["/api/v1/bookings/1x/", "/api/v1/bookings/1/extend/x/"])
def test_malformed_ids_are_404(client, url):
    assert client.get(url).status_code == 404
