"""Input a fuzzer (or a confused script) sends to the environments API: never a 500.

Unknown or enormous ids and slugs are 404s; bad filters, NUL characters (which PostgreSQL
refuses in text), moments at the ends of the calendar and absurd numbers are 400s.
"""

from __future__ import annotations

import pytest

from ..conftest import HOUR
from .conftest import iso

HUGE = 2**64 + 1
FAR = "9998-12-31T23:00:00Z"


@pytest.fixture
def client(as_user, manager):
    return as_user(manager)


@pytest.mark.parametrize(
    "url", ["/api/v1/bookings/", "/api/v1/waitlist/", "/api/v1/maintenance-windows/"]
)
@pytest.mark.parametrize("pk", [HUGE, -1, 0, "abc", "1.5", "%00"])
def test_it_answers_404_for_a_hostile_id(client, url, pk):
    assert client.get(f"{url}{pk}/").status_code == 404
    assert client.post(f"{url}{pk}/cancel/").status_code == 404


@pytest.mark.parametrize("slug", ["nope", "%00", "x" * 500, "%C3%A9"])
def test_it_answers_404_for_a_hostile_environment_slug(client, staging, slug):
    assert client.get(f"/api/v1/environments/{slug}/").status_code == 404
    assert client.get(f"/api/v1/environments/{slug}/availability/").status_code == 404


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/v1/bookings/", {"environment": "\x00"}),
        ("/api/v1/bookings/", {"team": "a\x00b"}),
        ("/api/v1/bookings/", {"state": "held"}),
        ("/api/v1/bookings/", {"release": HUGE}),
        ("/api/v1/bookings/", {"release": "x"}),
        ("/api/v1/bookings/", {"start": "yesterday"}),
        ("/api/v1/bookings/", {"start": "9999-12-31T23:59:59-05:00"}),
        ("/api/v1/bookings/", {"end": "0001-01-01T00:00:00+05:00"}),
        ("/api/v1/bookings/", {"ordering": "\x00"}),
        ("/api/v1/waitlist/", {"state": "\x00"}),
        ("/api/v1/maintenance-windows/", {"start": "9999-12-31T23:00:00-12:00"}),
        ("/api/v1/deployments/", {"release": -1}),
        ("/api/v1/environments/", {"kind": "castle"}),
        ("/api/v1/environments/staging/availability/", {"start": "9999-12-31T23:00:00-05:00"}),
        ("/api/v1/environments/staging/availability/", {"start": "\x00"}),
        ("/api/v1/environments/staging/availability/", {"end": "0001-01-01T00:00:00Z"}),
    ],
)
def test_it_answers_400_for_a_hostile_filter(client, staging, url, params):
    response = client.get(url, params)
    assert response.status_code == 400, response.data


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/api/v1/environments/staging/acquire/", {"team": "payments", "minutes": HUGE}),
        ("/api/v1/environments/staging/acquire/", {"team": "\x00", "minutes": 5}),
        ("/api/v1/environments/staging/acquire/", {"team": ["payments"], "minutes": 5}),
        ("/api/v1/environments/staging/acquire/", {"team": "payments", "release": HUGE}),
        ("/api/v1/bookings/", {"environment": "staging", "start": FAR, "end": FAR}),
        ("/api/v1/bookings/", {"environment": "staging", "start": "0999-01-01T00:00:00Z"}),
        ("/api/v1/waitlist/", {"environment": "staging", "start": FAR, "end": FAR}),
        ("/api/v1/maintenance-windows/", {"environment": "staging", "start": FAR, "end": FAR}),
        ("/api/v1/deployments/", {"environment": "staging", "version": "x" * 101}),
        ("/api/v1/deployments/", {"environment": "staging", "note": "\x00"}),
    ],
)
def test_it_answers_400_for_a_hostile_body(client, staging, url, data):
    body = {"team": "payments", "purpose": "x", "minutes": 5, "version": "1"} | data
    response = client.post(url, body, format="json")
    assert response.status_code == 400, response.data


@pytest.mark.parametrize("end", [FAR, "0999-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00"])
def test_it_answers_400_for_an_extension_to_the_ends_of_the_calendar(client, book, end):
    booking = book(0, 1)
    response = client.post(f"/api/v1/bookings/{booking.pk}/extend/", {"end": end})
    assert response.status_code == 400, response.data


@pytest.mark.parametrize(
    "rules",
    [
        {"max_booking_minutes": 2**70},
        {"min_notice_minutes": 2**62},
        {"min_notice_minutes": -1},
        {"max_active_bookings_per_team": 0},
        {"url": "javascript:alert(1)"},
        {"description": "\x00"},
    ],
)
def test_absurd_rules_are_refused_and_bookings_keep_working(client, payments, staging, soon, rules):
    response = client.patch("/api/v1/environments/staging/", rules, format="json")
    assert response.status_code == 400, response.data
    booking = client.post(
        "/api/v1/bookings/",
        {
            "environment": "staging",
            "team": "payments",
            "purpose": "x",
            "start": iso(soon),
            "end": iso(soon + HOUR),
        },
        format="json",
    )
    assert booking.status_code == 201, booking.data
