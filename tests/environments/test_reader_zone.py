"""Times in the reader's own zone: the same booking reads differently in Berlin and São Paulo,
and the times a person types are read in their zone, a time that does not exist or happens twice
there refused, named by the field.

(São Paulo has kept UTC−3 all year since 2019: its readers see no DST change; Berlin's do.)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from environments.models import Booking
from tests.zones import set_zone

from .test_pages import booking_form

pytestmark = pytest.mark.django_db

BERLIN, SAO_PAULO = "Europe/Berlin", "America/Sao_Paulo"


def page(client, user, url: str) -> str:
    client.force_login(user)
    return unescape(client.get(url).content.decode())


def last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


@pytest.mark.parametrize("zone", [BERLIN, SAO_PAULO], ids=["berlin", "sao-paulo"])
def test_a_booking_reads_in_the_readers_own_zone(client, alice, book, zone):
    booking = book(0, 1)
    shown = page(client, set_zone(alice, zone), "/environments/bookings/")
    assert f"{timezone.localtime(booking.start, ZoneInfo(zone)):%H:%M}–" in shown
    assert f"Times in {zone}" in shown


def test_berlin_and_sao_paulo_see_different_wall_times_for_the_same_booking(client, alice, book):
    booking = book(0, 1)
    berlin = page(client, set_zone(alice, BERLIN), "/environments/bookings/")
    in_sao_paulo = f"{timezone.localtime(booking.start, ZoneInfo(SAO_PAULO)):%H:%M}–"
    assert in_sao_paulo not in berlin


@pytest.mark.parametrize(
    ("zone", "typed", "utc_hour"),
    [(BERLIN, "10:00", 9), (SAO_PAULO, "10:00", 13)],
    ids=["berlin-winter", "sao-paulo"],
)
def test_the_times_a_person_types_are_read_in_their_zone(
    client, alice, payments, staging, zone, typed, utc_hour
):
    client.force_login(set_zone(alice, zone))
    day = timezone.now().date() + timedelta(days=400)
    day = day.replace(month=1, day=15)  # winter in Berlin
    response = client.post(
        "/environments/book/",
        booking_form(payments, timezone.now()) | {"start": f"{day}T{typed}", "end": f"{day}T11:30"},
    )
    assert response.status_code == 302
    assert Booking.objects.get().start == datetime.combine(
        day, datetime.min.time(), tzinfo=UTC
    ).replace(hour=utc_hour)


@pytest.mark.parametrize("month", [3, 10], ids=["spring-gap", "autumn-overlap"])
def test_a_time_that_does_not_exist_or_happens_twice_is_refused_naming_the_field(
    client, alice, payments, staging, month
):
    client.force_login(set_zone(alice, BERLIN))
    # 02:30 on the last Sunday of March does not exist in Berlin; of October it happens twice.
    night = last_sunday(timezone.now().year + 1, month)
    response = client.post(
        "/environments/book/",
        booking_form(payments, timezone.now())
        | {"start": f"{night}T02:30", "end": f"{night}T05:00"},
    )
    assert response.status_code == 400
    assert BERLIN in response.context["form"].errors["start"][0]
    assert not Booking.objects.exists()


def test_a_time_missing_in_berlin_is_an_ordinary_time_for_a_reader_in_sao_paulo(
    client, alice, payments, staging
):
    client.force_login(set_zone(alice, SAO_PAULO))
    night = last_sunday(timezone.now().year + 1, 3)
    response = client.post(
        "/environments/book/",
        booking_form(payments, timezone.now())
        | {"start": f"{night}T02:30", "end": f"{night}T05:00"},
    )
    assert response.status_code == 302
    assert Booking.objects.get().start.astimezone(UTC).hour == 5
